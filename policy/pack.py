"""The policies of the ugc pack, built on the plain checks in `invariants`."""

import inspect

from invariants import (
    Resource,
    functions_log_with_retention,
    iam_wildcards,
    services_scale_on_cpu,
    tables_encrypted,
    world_open_only_to_load_balancer_listeners,
)
from pulumi_policy import EnforcementLevel, PolicyConfigSchema, StackValidationPolicy


def _resources(args) -> list[Resource]:
    return [
        Resource(
            type=r.resource_type,
            name=r.name,
            urn=r.urn,
            props=dict(r.props),
            property_dependencies={
                prop: [d.urn for d in deps] for prop, deps in r.property_dependencies.items()
            },
        )
        for r in args.resources
    ]


def _policy(name: str, description: str, check, config_schema=None) -> StackValidationPolicy:
    accepted = inspect.signature(check).parameters

    def validate(args, report_violation) -> None:
        config = {k: v for k, v in (args.get_config() or {}).items() if k in accepted}
        for problem in check(_resources(args), **config):
            report_violation(problem, None)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=config_schema,
    )


POLICIES = [
    _policy(
        "iam-no-wildcard-resources",
        "IAM statements name their resources, except for actions AWS offers only on '*'.",
        iam_wildcards,
    ),
    _policy(
        "tables-encrypted-and-recoverable",
        "Tables are encrypted; where required (prod), they keep point-in-time backups.",
        tables_encrypted,
        PolicyConfigSchema(properties={"require_recovery": {"type": "boolean", "default": False}}),
    ),
    _policy(
        "functions-log-with-retention",
        "Every function logs to a log group that has a retention period.",
        functions_log_with_retention,
    ),
    _policy(
        "world-open-only-to-listeners",
        "Only the load balancer is open to the world, and only on its listener ports.",
        world_open_only_to_load_balancer_listeners,
    ),
    _policy(
        "services-scale-on-cpu",
        "Every ECS service has a target-tracking scaling policy.",
        services_scale_on_cpu,
    ),
]
