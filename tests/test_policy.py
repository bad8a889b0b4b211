"""The policy pack's validators, run over what the program declares for dev and prod."""

import dataclasses
import json
import sys
from pathlib import Path

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
)

from emulator.program import PROJECT_DIR, Declared, ProgramRun, run_program

# The pack imports its sibling modules the way Pulumi runs it: from inside its own folder.
sys.path.insert(0, str(PROJECT_DIR / "policy"))
from pack import POLICIES

PROD_CONFIG = json.loads((PROJECT_DIR / "policy" / "prod.json").read_text())


def _as_policy_resources(resources: list[Declared]) -> list[PolicyResource]:
    by_urn: dict[str, PolicyResource] = {}
    for declared in resources:
        by_urn[declared.urn] = PolicyResource(
            resource_type=declared.type,
            props=declared.state,
            urn=declared.urn,
            name=declared.name,
            opts=PolicyResourceOptions(
                declared.protect,
                declared.ignore_changes,
                None,
                [],
                PolicyCustomTimeouts(0, 0, 0),
                [],
            ),
            provider=None,
            parent=None,
            dependencies=[],
            property_dependencies={},
        )
    for declared in resources:
        by_urn[declared.urn].property_dependencies = {
            prop: [by_urn[urn] for urn in urns if urn in by_urn]
            for prop, urns in declared.property_dependencies.items()
        }
    return list(by_urn.values())


def violations(resources: list[Declared], config: dict | None = None) -> dict[str, list[str]]:
    """Every policy's violations, by policy name."""
    found: dict[str, list[str]] = {}
    for policy in POLICIES:
        args = StackValidationArgs(_as_policy_resources(resources), (config or {}).get(policy.name))
        policy.validate(
            args, lambda message, urn, name=policy.name: found.setdefault(name, []).append(message)
        )
    return found


def _replace(program: ProgramRun, name: str, **state) -> list[Declared]:
    return [
        dataclasses.replace(r, state={**r.state, **state}) if r.name == name else r
        for r in program.resources
    ]


def test_dev_stack_keeps_every_invariant(dev_program):
    assert violations(dev_program.resources) == {}


def test_prod_stack_keeps_every_invariant_including_point_in_time_recovery(prod_program):
    assert violations(prod_program.resources, PROD_CONFIG) == {}


def test_a_wildcard_resource_for_an_action_with_narrower_resources_is_a_violation(dev_program):
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
    }
    resources = _replace(dev_program, "api-task-policy", policy=json.dumps(policy))

    found = violations(resources)

    assert found == {
        "iam-no-wildcard-resources": [
            "api-task-policy allows s3:GetObject on every resource; name the resources."
        ]
    }


def test_an_unencrypted_table_is_a_violation(dev_program):
    found = violations(
        _replace(dev_program, "data-streams", serverSideEncryption={"enabled": False})
    )

    assert found == {
        "tables-encrypted-and-recoverable": ["Table data-streams is not encrypted with a KMS key."]
    }


def test_point_in_time_recovery_is_required_where_the_pack_is_configured_for_it(dev_program):
    found = violations(dev_program.resources, PROD_CONFIG)

    assert sorted(found["tables-encrypted-and-recoverable"]) == [
        "Table data-channels has no point-in-time recovery.",
        "Table data-streams has no point-in-time recovery.",
    ]


def test_a_function_logging_to_a_group_kept_forever_is_a_violation(dev_program):
    found = violations(_replace(dev_program, "cleanup-idle-stages-logs", retentionInDays=0))

    assert found == {
        "functions-log-with-retention": [
            "Function cleanup-idle-stages-function logs to a group kept forever."
        ]
    }


def test_a_port_open_to_the_world_outside_the_listeners_is_a_violation(dev_program):
    found = violations(_replace(dev_program, "api-lb-80-ipv4", fromPort=22, toPort=22))

    assert found == {
        "world-open-only-to-listeners": [
            "api-lb-80-ipv4 opens ports [22] to the world outside a load balancer's listener ports."
        ]
    }


def test_opening_the_tasks_to_the_world_is_a_violation(dev_program):
    resources = _replace(
        dev_program, "api-tasks-from-lb", cidrIpv4="0.0.0.0/0", referencedSecurityGroupId=None
    )

    assert "world-open-only-to-listeners" in violations(resources)


def test_a_service_without_a_scaling_policy_is_a_violation(dev_program):
    resources = [r for r in dev_program.resources if r.name != "api-cpu"]

    assert violations(resources) == {
        "services-scale-on-cpu": [
            "1 ECS service(s) but 0 target-tracking scaling policy(ies) on a desired count; "
            "add one per service."
        ]
    }


def test_https_listener_port_may_be_open_when_a_certificate_is_configured():
    program = run_program(
        "prod",
        overrides={"ugc:certificateArn": "arn:aws:acm:us-west-2:123456789012:certificate/abc-123"},
    )

    assert violations(program.resources, PROD_CONFIG) == {}


def test_the_pack_entry_point_lists_the_same_policies():
    source = (Path(PROJECT_DIR) / "policy" / "__main__.py").read_text()

    assert "policies=POLICIES" in source
    assert {p.name for p in POLICIES} == {
        "iam-no-wildcard-resources",
        "tables-encrypted-and-recoverable",
        "functions-log-with-retention",
        "world-open-only-to-listeners",
        "services-scale-on-cpu",
    }


def test_the_service_inside_awsxs_fargate_service_is_not_counted_twice(dev_program):
    """Under mocks awsx has no children; in a real preview its ECS service is listed too."""
    component = dev_program.named("api-service")
    inner = dataclasses.replace(
        component,
        type="aws:ecs/service:Service",
        urn=component.urn.replace(
            "awsx:ecs:FargateService::api-service",
            "awsx:ecs:FargateService$aws:ecs/service:Service::api-service",
        ),
        parent=component.urn,
    )

    assert violations([*dev_program.resources, inner]) == {}
    assert "services-scale-on-cpu" in violations(
        [r for r in dev_program.resources if r.name != "api-cpu"] + [inner]
    )


def test_attaching_a_managed_policy_outside_the_short_list_is_a_violation(dev_program):
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    found = violations(_replace(dev_program, "api-execution-managed", policyArn=admin))

    assert found == {
        "iam-no-wildcard-resources": [
            f"api-execution-managed attaches {admin}, which this pack cannot check; write the "
            "statements inline instead."
        ]
    }
