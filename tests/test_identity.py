"""The identity component as declared under mocks: sign-up, sign-in and protection per stack."""

import pytest

from emulator.program import run_program


def test_users_sign_themselves_up_and_sign_in_by_username_preferred_username_or_email(
    dev_program,
):
    pool = dev_program.named("identity-users").inputs

    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": False}
    assert sorted(pool["aliasAttributes"]) == ["email", "preferred_username"]
    assert pool["usernameConfiguration"] == {"caseSensitive": False}


def test_email_is_required_immutable_and_verified_automatically(dev_program):
    pool = dev_program.named("identity-users").inputs

    [email] = [s for s in pool["schemas"] if s["name"] == "email"]
    assert email["required"] is True and email["mutable"] is False
    assert email["attributeDataType"] == "String"
    assert pool["autoVerifiedAttributes"] == ["email"]


def test_passwords_need_eight_characters_with_lower_upper_digit_and_symbol(dev_program):
    policy = dev_program.named("identity-users").inputs["passwordPolicy"]

    assert policy["minimumLength"] == 8
    assert policy["requireLowercase"] and policy["requireUppercase"]
    assert policy["requireNumbers"] and policy["requireSymbols"]


def test_api_client_has_no_secret_and_only_password_and_refresh_flows(dev_program):
    client = dev_program.named("identity-api-client")

    assert client.inputs["generateSecret"] is False
    assert sorted(client.inputs["explicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
    ]
    assert client.inputs["userPoolId"] == dev_program.named("identity-users").id


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("prod", True)])
def test_user_pool_protection_follows_the_stack(stack, protected):
    pool = run_program(stack).named("identity-users")

    assert pool.protect is protected
    assert pool.inputs["deletionProtection"] == ("ACTIVE" if protected else "INACTIVE")


def test_stack_exports_the_user_pool_and_client_ids(dev_program):
    assert dev_program.outputs["userPoolId"] == dev_program.named("identity-users").id
    assert dev_program.outputs["userPoolClientId"] == (dev_program.named("identity-api-client").id)
