"""The invariants the stack promises, as plain functions over the resources it declares.

`__main__.py` runs them as a Pulumi policy pack during `pulumi preview`; the test suite runs
them over what the program declares under mocks. Each returns one sentence per violation.
Values that are unknown during a preview (not yet created) are skipped, not guessed.
"""

import json
from dataclasses import dataclass, field

# Actions AWS authorises only on "*": they have no narrower resource to name.
WILDCARD_ALLOWED = frozenset({"cloudwatch:GetMetricData", "ivs:ListStages"})
# AWS-managed policies a role may carry: ECS's task execution policy pulls images and writes
# logs on "*" (ecr:GetAuthorizationToken has no narrower resource).
MANAGED_ALLOWED = frozenset(
    {"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}
)
WORLD = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class Resource:
    """A declared resource: its type, name, URN, properties, and what each property came from."""

    type: str
    name: str
    urn: str
    props: dict
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def depends(self, prop: str) -> list[str]:
        """The URNs of the resources a property's value came from."""
        return self.property_dependencies.get(prop, [])


def _of_type(resources: list[Resource], type_: str) -> list[Resource]:
    return [r for r in resources if r.type == type_]


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def iam_wildcards(resources: list[Resource]) -> list[str]:
    """No IAM statement allows "*" as its resource, except for actions that have no other."""
    problems = []
    for attachment in _of_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        policy = attachment.props.get("policyArn")
        if isinstance(policy, str) and policy not in MANAGED_ALLOWED:
            problems.append(
                f"{attachment.name} attaches {policy}, which this pack cannot check; write the "
                "statements inline instead."
            )
    for resource in resources:
        if resource.type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
            continue
        document = resource.props.get("policy")
        if not isinstance(document, str):
            continue
        for statement in _listed(json.loads(document).get("Statement", [])):
            if statement.get("Effect") != "Allow":
                continue
            actions = set(_listed(statement.get("Action", [])))
            if "*" in _listed(statement.get("Resource", [])) and not actions <= WILDCARD_ALLOWED:
                extra = ", ".join(sorted(actions - WILDCARD_ALLOWED))
                problems.append(
                    f"{resource.name} allows {extra} on every resource; name the resources."
                )
            if "*" in actions:
                problems.append(f"{resource.name} allows every action; list the actions.")
    return problems


def tables_encrypted(resources: list[Resource], require_recovery: bool = False) -> list[str]:
    """Tables are encrypted; with `require_recovery`, they keep point-in-time backups too."""
    problems = []
    for table in _of_type(resources, "aws:dynamodb/table:Table"):
        if not (table.props.get("serverSideEncryption") or {}).get("enabled"):
            problems.append(f"Table {table.name} is not encrypted with a KMS key.")
        recovery = (table.props.get("pointInTimeRecovery") or {}).get("enabled")
        if require_recovery and not recovery:
            problems.append(f"Table {table.name} has no point-in-time recovery.")
    return problems


def functions_log_with_retention(resources: list[Resource]) -> list[str]:
    """Every function logs to a log group of the stack that has a retention period."""
    groups = {r.urn: r for r in _of_type(resources, "aws:cloudwatch/logGroup:LogGroup")}
    problems = []
    for function in _of_type(resources, "aws:lambda/function:Function"):
        sources = [groups[urn] for urn in function.depends("loggingConfig") if urn in groups]
        if not sources:
            problems.append(f"Function {function.name} logs to no log group of this stack.")
        elif not all((g.props.get("retentionInDays") or 0) > 0 for g in sources):
            problems.append(f"Function {function.name} logs to a group kept forever.")
    return problems


def world_open_only_to_load_balancer_listeners(resources: list[Resource]) -> list[str]:
    """Only a load balancer's security group is open to the world, on its listener ports."""
    listener_ports: dict[str, set] = {}
    for balancer in _of_type(resources, "aws:lb/loadBalancer:LoadBalancer"):
        ports = {
            listener.props.get("port")
            for listener in _of_type(resources, "aws:lb/listener:Listener")
            if balancer.urn in listener.depends("loadBalancerArn")
        }
        for group in balancer.depends("securityGroups"):
            listener_ports.setdefault(group, set()).update(ports)

    problems = []
    for group in _of_type(resources, "aws:ec2/securityGroup:SecurityGroup"):
        for rule in group.props.get("ingress") or []:
            sources = set(rule.get("cidrBlocks") or []) | set(rule.get("ipv6CidrBlocks") or [])
            if sources & set(WORLD):
                problems.append(
                    f"Security group {group.name} has an inline rule open to the world."
                )
    for rule in _of_type(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        if rule.props.get("cidrIpv4") not in WORLD and rule.props.get("cidrIpv6") not in WORLD:
            continue
        allowed = set().union(
            *(listener_ports.get(g, set()) for g in rule.depends("securityGroupId"))
        )
        ports = {rule.props.get("fromPort"), rule.props.get("toPort")}
        if rule.props.get("ipProtocol") != "tcp" or not ports <= allowed:
            problems.append(
                f"{rule.name} opens ports {sorted(p for p in ports if p is not None)} to the world "
                "outside a load balancer's listener ports."
            )
    return problems


def services_scale_on_cpu(resources: list[Resource]) -> list[str]:
    """Every ECS service has a target-tracking policy on its desired count."""
    # awsx's FargateService wraps an aws:ecs Service; during a real preview both are listed.
    services = _of_type(resources, "awsx:ecs:FargateService") + [
        service
        for service in _of_type(resources, "aws:ecs/service:Service")
        if "awsx:ecs:FargateService$" not in service.urn
    ]
    targets = {
        r.urn
        for r in _of_type(resources, "aws:appautoscaling/target:Target")
        if r.props.get("scalableDimension") == "ecs:service:DesiredCount"
    }
    tracking = [
        policy
        for policy in _of_type(resources, "aws:appautoscaling/policy:Policy")
        if policy.props.get("policyType") == "TargetTrackingScaling"
        and set(policy.depends("resourceId")) & targets
    ]
    if len(tracking) < len(services):
        return [
            f"{len(services)} ECS service(s) but {len(tracking)} target-tracking scaling "
            "policy(ies) on a desired count; add one per service."
        ]
    return []
