"""The data component as the program declares it under Pulumi's mocks, for dev and prod."""

import json

import pytest

from emulator.program import run_program
from settings import ConfigError

TABLE = "aws:dynamodb/table:Table"


def _indexes(table) -> dict[str, dict]:
    return {index["name"]: index for index in table.inputs.get("globalSecondaryIndexes", [])}


def _keys(index: dict) -> list[tuple[str, str]]:
    return [(key["attributeName"], key["keyType"]) for key in index["keySchemas"]]


def _attributes(table) -> dict[str, str]:
    return {a["name"]: a["type"] for a in table.inputs["attributes"]}


def test_channels_table_is_keyed_by_user_sub_with_the_four_lookup_indexes(dev_program):
    table = dev_program.named("data-channels")
    indexes = _indexes(table)

    assert table.inputs["hashKey"] == "id"
    assert "rangeKey" not in table.inputs
    assert _attributes(table) == {
        "id": "S",
        "email": "S",
        "channelArn": "S",
        "username": "S",
        "channelAssetId": "S",
    }
    assert set(indexes) == {"emailIndex", "channelArnIndex", "usernameIndex", "channelAssetIdIndex"}
    for name, attribute in [
        ("emailIndex", "email"),
        ("channelArnIndex", "channelArn"),
        ("usernameIndex", "username"),
    ]:
        assert _keys(indexes[name]) == [(attribute, "HASH")]
        assert indexes[name]["projectionType"] == "ALL"
    assert _keys(indexes["channelAssetIdIndex"]) == [("channelAssetId", "HASH")]
    assert indexes["channelAssetIdIndex"]["projectionType"] == "INCLUDE"
    assert indexes["channelAssetIdIndex"]["nonKeyAttributes"] == ["channelAssets"]


def test_streams_table_is_keyed_by_channel_and_session_with_start_time_and_sparse_open_indexes(
    dev_program,
):
    table = dev_program.named("data-streams")
    local = {index["name"]: index for index in table.inputs["localSecondaryIndexes"]}
    is_open = _indexes(table)["isOpenIndex"]

    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("channelArn", "id")
    assert _attributes(table) == {"channelArn": "S", "id": "S", "startTime": "S", "isOpen": "S"}
    assert local == {
        "startTimeIndex": {
            "name": "startTimeIndex",
            "rangeKey": "startTime",
            "projectionType": "ALL",
        }
    }
    assert set(_indexes(table)) == {"isOpenIndex"}
    assert _keys(is_open) == [("channelArn", "HASH"), ("isOpen", "RANGE")]
    assert is_open["projectionType"] == "INCLUDE"
    keys = {"channelArn", "id", "isOpen"}
    assert {"endTime", "truncatedEvents", "channelArn", "startTime"} <= keys | set(
        is_open["nonKeyAttributes"]
    )
    assert not keys & set(is_open["nonKeyAttributes"])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_tables_bill_on_demand_and_are_encrypted_in_every_stack(stack):
    program = run_program(stack)

    for table in program.of_type(TABLE):
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST", table.name
        assert table.inputs["serverSideEncryption"] == {"enabled": True}, table.name
        assert "readCapacity" not in table.inputs and "writeCapacity" not in table.inputs


def test_prod_tables_are_protected_by_pulumi_and_aws_and_keep_backups(prod_program):
    tables = prod_program.of_type(TABLE)

    assert {t.name for t in tables} == {"data-channels", "data-streams"}
    for table in tables:
        assert table.protect, table.name
        assert table.inputs["deletionProtectionEnabled"] is True, table.name
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}, table.name


def test_dev_tables_can_be_destroyed(dev_program):
    for table in dev_program.of_type(TABLE):
        assert not table.protect, table.name
        assert table.inputs["deletionProtectionEnabled"] is False, table.name
        assert table.inputs["pointInTimeRecovery"] == {"enabled": False}, table.name


def test_protection_follows_the_protect_setting_not_the_stack_name():
    program = run_program("alice", overrides={"aws:region": "eu-west-1", "ugc:protect": "true"})

    assert all(t.protect for t in program.of_type(TABLE))


def test_tables_are_children_of_the_data_component_and_use_the_tagging_provider(dev_program):
    component = dev_program.named("data")
    provider = dev_program.named("aws")

    assert component.type == "ugc:data:Data"
    assert {t.name for t in dev_program.children_of(component)} == {"data-channels", "data-streams"}
    for table in dev_program.of_type(TABLE):
        assert table.provider.startswith(provider.urn), table.name


def test_provider_tags_every_resource_with_project_stack_and_manager(dev_program):
    provider = dev_program.named("aws")

    assert provider.type == "pulumi:providers:aws"
    assert provider.inputs["region"] == "us-west-2"
    # A provider's object inputs reach the engine as JSON text.
    assert json.loads(provider.inputs["defaultTags"]) == {
        "tags": {"project": "ugc", "stack": "dev", "managed-by": "pulumi"}
    }


def test_stack_exports_the_outputs_the_seeder_and_api_read(dev_program):
    outputs = dev_program.outputs

    assert outputs["region"] == "us-west-2"
    assert outputs["accountId"] == "123456789012"
    assert outputs["channelsTableName"] == dev_program.named("data-channels").state["name"]
    assert outputs["streamsTableName"] == dev_program.named("data-streams").state["name"]


def test_a_protect_value_that_is_not_a_boolean_stops_the_program_naming_the_key():
    with pytest.raises(ConfigError, match=r"ugc:protect must be true or false, not 'yes'"):
        run_program("dev", overrides={"ugc:protect": "yes"})


def test_a_stack_without_a_region_stops_the_program_naming_the_key():
    with pytest.raises(ConfigError, match=r"aws:region is not set.*pulumi config set aws:region"):
        run_program("scratch", overrides={"aws:region": None})
