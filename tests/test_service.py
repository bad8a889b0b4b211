"""The API service, its network and its autoscaling, as the program declares them under mocks."""

import json

import pulumi
import pytest

from components.service import keep_autoscaled_task_count
from emulator.program import run_program
from settings import ConfigError

API_ENVIRONMENT = {
    "REGION",
    "ACCOUNT_ID",
    "CHANNELS_TABLE_NAME",
    "STREAM_TABLE_NAME",
    "USER_POOL_ID",
    "USER_POOL_CLIENT_ID",
    "ALLOWED_ORIGINS",
    "IVS_CHANNEL_TYPE",
    "PROJECT_TAG",
    "SERVICE_NAME",
}
CERTIFICATE = "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:ugc/pagination-AbCdEf"


def _container(program) -> dict:
    return program.named("api-service").inputs["taskDefinitionArgs"]["container"]


def _environment(program) -> dict[str, str]:
    return {pair["name"]: pair["value"] for pair in _container(program)["environment"]}


def _scaling(program) -> tuple:
    target = program.named("api-scaling").inputs
    tracking = program.named("api-cpu").inputs["targetTrackingScalingPolicyConfiguration"]
    return (
        target["minCapacity"],
        target["maxCapacity"],
        tracking["targetValue"],
        tracking["scaleInCooldown"],
        tracking["scaleOutCooldown"],
    )


def test_scalable_target_names_the_service_as_service_slash_cluster_slash_service(dev_program):
    target = dev_program.named("api-scaling").inputs
    cluster = dev_program.named("api-cluster").state["name"]
    service = dev_program.named("api-service").inputs["name"]

    assert target["resourceId"] == f"service/{cluster}/{service}"
    assert target["scalableDimension"] == "ecs:service:DesiredCount"
    assert target["serviceNamespace"] == "ecs"
    assert dev_program.outputs["serviceName"] == service
    assert dev_program.outputs["clusterName"] == cluster


def test_cpu_target_tracking_defaults_to_one_to_thirty_tasks_at_seventy_percent(dev_program):
    policy = dev_program.named("api-cpu").inputs
    metric = policy["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]

    assert policy["policyType"] == "TargetTrackingScaling"
    assert metric == {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}
    assert _scaling(dev_program) == (1, 30, 70, 60, 60)
    assert dev_program.named("api-service").inputs["desiredCount"] == 1


def test_all_five_scaling_numbers_come_from_the_stack_configuration():
    program = run_program(
        "dev",
        overrides={
            "ugc:minTasks": "3",
            "ugc:maxTasks": "12",
            "ugc:cpuTargetPercent": "55",
            "ugc:scaleInCooldownSeconds": "300",
            "ugc:scaleOutCooldownSeconds": "30",
        },
    )

    assert _scaling(program) == (3, 12, 55, 300, 30)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"ugc:minTasks": "5", "ugc:maxTasks": "4"},
            r"ugc:minTasks \(5\) is above ugc:maxTasks \(4\)",
        ),
        (
            {"ugc:cpuTargetPercent": "0"},
            r"ugc:cpuTargetPercent must be a whole number from 1 to 100",
        ),
        (
            {"ugc:cpuTargetPercent": "101"},
            r"ugc:cpuTargetPercent must be a whole number from 1 to 100",
        ),
        (
            {"ugc:scaleInCooldownSeconds": "-1"},
            r"ugc:scaleInCooldownSeconds must be a whole number",
        ),
        ({"ugc:taskMemory": "4096"}, r"ugc:taskMemory must be one of 512, 1024, 2048"),
        ({"ugc:natGateways": "3"}, r"ugc:natGateways must be a whole number from 1 to 2"),
    ],
)
def test_impossible_service_settings_stop_the_program_naming_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        run_program("dev", overrides=overrides)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_cloudwatch_alarms_are_declared_for_scaling(stack):
    program = run_program(stack)

    assert program.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") == []
    assert program.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm") == []


def test_the_inner_ecs_service_ignores_the_task_count_the_autoscaler_chose(dev_program):
    transforms = dev_program.named("api-service").transforms
    inner = pulumi.ResourceTransformArgs(
        custom=True,
        type_="aws:ecs/service:Service",
        name="api-service",
        props={"desiredCount": 1},
        opts=pulumi.ResourceOptions(),
    )
    other = pulumi.ResourceTransformArgs(
        custom=True,
        type_="aws:ecs/taskDefinition:TaskDefinition",
        name="api-service",
        props={},
        opts=pulumi.ResourceOptions(),
    )

    assert keep_autoscaled_task_count in transforms
    [result] = [t(inner) for t in transforms]
    assert "desiredCount" in result.opts.ignore_changes
    assert result.props == {"desiredCount": 1}
    assert [t(other) for t in transforms] == [None]


def _rules(program, kind: str) -> list[dict]:
    return [
        r.inputs
        for r in program.of_type(f"aws:vpc/securityGroup{kind}Rule:SecurityGroup{kind}Rule")
    ]


@pytest.mark.parametrize("certificate", [None, CERTIFICATE])
def test_only_the_load_balancer_listens_to_the_world_on_80_and_443(certificate):
    program = run_program("dev", overrides={"ugc:certificateArn": certificate})
    lb_group = program.named("api-lb-sg").id

    world = [r for r in _rules(program, "Ingress") if r.get("cidrIpv4") or r.get("cidrIpv6")]
    assert {r["securityGroupId"] for r in world} == {lb_group}
    assert {r["fromPort"] for r in world} == ({80, 443} if certificate else {80})
    assert all(r["fromPort"] == r["toPort"] and r["ipProtocol"] == "tcp" for r in world)
    for group in program.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert not group.inputs.get("ingress"), group.name


def test_only_the_load_balancer_reaches_the_tasks_on_8080(dev_program):
    lb_group = dev_program.named("api-lb-sg").id
    tasks_group = dev_program.named("api-tasks-sg").id

    into_tasks = [r for r in _rules(dev_program, "Ingress") if r["securityGroupId"] == tasks_group]
    assert into_tasks == [
        {
            "securityGroupId": tasks_group,
            "ipProtocol": "tcp",
            "fromPort": 8080,
            "toPort": 8080,
            "referencedSecurityGroupId": lb_group,
        }
    ]


def test_tasks_run_in_private_subnets_without_public_ips(dev_program):
    network = dev_program.named("api-service").inputs["networkConfiguration"]
    private = {dev_program.named(f"network-private-{n}").id for n in (1, 2)}

    assert network["assignPublicIp"] is False
    assert set(network["subnets"]) == private
    assert network["securityGroups"] == [dev_program.named("api-tasks-sg").id]


def test_load_balancer_is_internet_facing_in_the_public_subnets(dev_program):
    lb = dev_program.named("api-lb").inputs
    public = {dev_program.named(f"network-public-{n}").id for n in (1, 2)}

    assert lb["loadBalancerType"] == "application" and lb["internal"] is False
    assert set(lb["subnets"]) == public


@pytest.mark.parametrize(("stack", "zones", "gateways"), [("dev", 2, 1), ("prod", 3, 2)])
def test_network_spans_the_stacks_zones_with_its_nat_gateways(stack, zones, gateways):
    program = run_program(stack)
    nats = [n.id for n in program.of_type("aws:ec2/natGateway:NatGateway")]
    private_tables = [
        t for t in program.of_type("aws:ec2/routeTable:RouteTable") if "private" in t.name
    ]

    assert len(program.of_type("aws:ec2/subnet:Subnet")) == 2 * zones
    assert len(nats) == gateways
    assert {t.inputs["routes"][0]["natGatewayId"] for t in private_tables} == set(nats)


def test_target_group_checks_health_on_status_at_8080(dev_program):
    group = dev_program.named("api-tg").inputs

    assert (group["port"], group["protocol"], group["targetType"]) == (8080, "HTTP", "ip")
    assert group["healthCheck"]["path"] == "/status"


def test_without_a_certificate_one_http_listener_forwards_to_the_tasks(dev_program):
    listeners = dev_program.of_type("aws:lb/listener:Listener")

    assert [(li.inputs["port"], li.inputs["protocol"]) for li in listeners] == [(80, "HTTP")]
    assert listeners[0].inputs["defaultActions"][0]["type"] == "forward"
    assert dev_program.outputs["apiUrl"].startswith("http://")


def test_with_a_certificate_https_serves_and_http_redirects_to_it():
    program = run_program("dev", overrides={"ugc:certificateArn": CERTIFICATE})
    listeners = {li.inputs["port"]: li.inputs for li in program.of_type("aws:lb/listener:Listener")}

    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["certificateArn"] == CERTIFICATE
    assert listeners[443]["defaultActions"][0]["type"] == "forward"
    assert listeners[80]["defaultActions"][0]["redirect"] == {
        "port": "443",
        "protocol": "HTTPS",
        "statusCode": "HTTP_301",
    }
    assert program.outputs["apiUrl"].startswith("https://")


def test_a_certificate_setting_that_is_not_an_acm_arn_is_refused():
    with pytest.raises(ConfigError, match="ugc:certificateArn is not an ACM certificate ARN"):
        run_program("dev", overrides={"ugc:certificateArn": "my-cert"})


def test_container_gets_the_api_environment_by_the_names_it_reads(dev_program):
    environment = _environment(dev_program)

    assert set(environment) == API_ENVIRONMENT
    assert json.loads(environment["ALLOWED_ORIGINS"]) == ["http://localhost:3000"]
    assert environment["SERVICE_NAME"] == "all"
    assert environment["CHANNELS_TABLE_NAME"] == dev_program.outputs["channelsTableName"]
    assert environment["USER_POOL_ID"] == dev_program.outputs["userPoolId"]
    assert environment["PROJECT_TAG"] == dev_program.outputs["projectTag"]


def test_extra_variables_and_secret_references_come_from_configuration():
    program = run_program(
        "dev",
        overrides={
            "ugc:apiEnvironment": json.dumps({"LOG_LEVEL": "debug"}),
            "ugc:apiSecrets": json.dumps({"PAGINATION_TOKEN_KEY": f"{SECRET}:key::"}),
        },
    )
    container = _container(program)
    secrets_policy = json.loads(program.named("api-execution-secrets").inputs["policy"])

    assert _environment(program)["LOG_LEVEL"] == "debug"
    assert "PAGINATION_TOKEN_KEY" not in _environment(program)
    assert container["secrets"] == [
        {"name": "PAGINATION_TOKEN_KEY", "valueFrom": f"{SECRET}:key::"}
    ]
    assert secrets_policy["Statement"][0]["Resource"] == [SECRET]


@pytest.mark.parametrize(
    ("overrides", "secret_keys", "message"),
    [
        ({"ugc:apiEnvironment": json.dumps({"DB_PASSWORD": "x"})}, (), "looks like a secret"),
        (
            {"ugc:apiEnvironment": json.dumps({"LOG_LEVEL": "x"})},
            ("ugc:apiEnvironment",),
            "is a secret",
        ),
        ({"ugc:apiEnvironment": json.dumps({"REGION": "x"})}, (), "which the stack sets itself"),
        (
            {"ugc:apiSecrets": json.dumps({"KEY": "plain-text"})},
            (),
            "is not a Secrets Manager secret",
        ),
        (
            {"ugc:allowedOrigins": json.dumps("https://a.example")},
            (),
            "must be a list of origins",
        ),
    ],
)
def test_secrets_never_become_plain_environment_variables(overrides, secret_keys, message):
    with pytest.raises(ConfigError, match=message):
        run_program("dev", overrides=overrides, secret_keys=secret_keys)


def test_an_image_uri_from_configuration_is_run_as_is():
    program = run_program("dev", overrides={"ugc:apiImage": "ghcr.io/example/ugc-api:1.4.2"})

    assert _container(program)["image"] == "ghcr.io/example/ugc-api:1.4.2"
    assert program.of_type("awsx:ecr:Image") == []


def test_a_build_context_is_built_and_pushed_to_a_private_repository(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM node:22-alpine\n")
    program = run_program(
        "dev", overrides={"ugc:apiImage": None, "ugc:apiBuildContext": str(tmp_path)}
    )
    image = program.named("api-image")

    assert image.inputs["context"] == str(tmp_path)
    assert image.inputs["repositoryUrl"] == program.named("api-repository").state["url"]
    assert _container(program)["image"] == image.state["imageUri"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ugc:apiImage": None}, r"Neither ugc:apiImage .* nor ugc:apiBuildContext .* is set"),
        ({"ugc:apiBuildContext": "."}, "are both set"),
        (
            {"ugc:apiImage": None, "ugc:apiBuildContext": "tests"},
            "which is not a folder with a Dockerfile",
        ),
        ({"ugc:apiImage": "not an image!"}, "ugc:apiImage is not an image reference"),
    ],
)
def test_image_settings_that_cannot_give_an_image_stop_the_program(overrides, message):
    with pytest.raises(ConfigError, match=message):
        run_program("dev", overrides=overrides)


def test_task_role_uses_a_wildcard_only_where_aws_offers_no_narrower_resource(dev_program):
    policy = json.loads(dev_program.named("api-task-policy").inputs["policy"])

    wildcard = [s for s in policy["Statement"] if "*" in s["Resource"]]
    assert [s["Action"] for s in wildcard] == [["cloudwatch:GetMetricData"]]
    for statement in policy["Statement"]:
        for resource in statement["Resource"]:
            assert resource == "*" or ":us-west-2:123456789012:" in resource, resource


def test_task_and_execution_roles_are_separate(dev_program):
    task = dev_program.named("api-service").inputs["taskDefinitionArgs"]

    assert task["taskRole"]["roleArn"] == dev_program.named("api-task-role").state["arn"]
    assert task["executionRole"]["roleArn"] == dev_program.named("api-execution-role").state["arn"]
    assert task["taskRole"]["roleArn"] != task["executionRole"]["roleArn"]


@pytest.mark.parametrize(
    ("stack", "cpu", "memory"), [("dev", "256", "512"), ("prod", "512", "1024")]
)
def test_task_size_comes_from_the_stack(stack, cpu, memory):
    task = run_program(stack).named("api-service").inputs["taskDefinitionArgs"]

    assert (task["cpu"], task["memory"]) == (cpu, memory)


def test_container_checks_its_own_health_on_status(dev_program):
    check = _container(dev_program)["healthCheck"]

    assert check["command"][0] == "CMD-SHELL"
    assert "http://localhost:8080/status" in check["command"][1]


def test_service_logs_go_to_a_group_kept_as_long_as_the_stack_says(dev_program):
    logs = dev_program.named("api-logs")
    task = dev_program.named("api-service").inputs["taskDefinitionArgs"]

    assert logs.inputs["retentionInDays"] == 14
    assert task["logGroup"] == {"existing": {"name": logs.state["name"]}}


def test_more_zones_than_the_region_offers_stops_the_program_naming_the_setting():
    with pytest.raises(pulumi.RunError, match="offers 4; lower ugc:availabilityZones to 4"):
        run_program("dev", overrides={"ugc:availabilityZones": "6"})


@pytest.mark.parametrize(("stack", "force_delete"), [("dev", True), ("prod", False)])
def test_a_protected_stack_keeps_its_built_images(tmp_path, stack, force_delete):
    (tmp_path / "Dockerfile").write_text("FROM node:22-alpine\n")
    program = run_program(
        stack, overrides={"ugc:apiImage": None, "ugc:apiBuildContext": str(tmp_path)}
    )

    assert program.named("api-repository").inputs["forceDelete"] is force_delete


def test_a_partial_secret_arn_is_granted_with_the_suffix_secrets_manager_adds():
    partial = "arn:aws:secretsmanager:us-west-2:123456789012:secret:ugc/key"
    program = run_program("dev", overrides={"ugc:apiSecrets": json.dumps({"KEY_ID": partial})})

    policy = json.loads(program.named("api-execution-secrets").inputs["policy"])

    assert policy["Statement"][0]["Resource"] == [f"{partial}-??????"]
