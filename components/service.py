"""The platform's API on ECS Fargate behind a load balancer, scaled by AWS on CPU."""

import json
import re

import pulumi
import pulumi_aws as aws
import pulumi_awsx as awsx

from components.handler_function import allow, policy_document
from components.network import Network
from settings import ServiceSettings

CONTAINER = "api"
PORT = 8080
HEALTH_PATH = "/status"
# The API image runs Node.js; curl and wget are not guaranteed to be in it.
HEALTH_COMMAND = (
    "node -e \"require('http').get('http://localhost:8080/status', r => "
    "process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))\""
)
EVERYWHERE = ("0.0.0.0/0", "::/0")

_ECS_TASKS_TRUST = policy_document(
    [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
)


def keep_autoscaled_task_count(
    args: pulumi.ResourceTransformArgs,
) -> pulumi.ResourceTransformResult | None:
    """Make the ECS service inside awsx's FargateService ignore its desired count.

    The target-tracking policy owns the task count; without this, every `pulumi up` would
    reset it to the count declared here.
    """
    if args.type_ != "aws:ecs/service:Service":
        return None
    return pulumi.ResourceTransformResult(
        props=args.props,
        opts=pulumi.ResourceOptions.merge(
            args.opts, pulumi.ResourceOptions(ignore_changes=["desiredCount"])
        ),
    )


def _secret_resource(reference: str) -> str:
    """The IAM resource of a secret reference.

    A JSON key or version after the secret's name is not part of it; a partial ARN (without
    the six characters Secrets Manager appends to the name) is matched with `-??????`.
    """
    if ":secretsmanager:" not in reference:
        return reference
    arn = ":".join(reference.split(":")[:7])
    return arn if re.search(r"-[A-Za-z0-9]{6}$", arn) else f"{arn}-??????"


class ApiService(pulumi.ComponentResource):
    """Load balancer, Fargate service and target-tracking autoscaling for the platform's API.

    Args:
        project_tag: the tag the API puts on the stages it creates, for the stage cleanup.
        protect: keep the built images when the image repository is deleted.
    """

    def __init__(
        self,
        name: str,
        *,
        network: Network,
        settings: ServiceSettings,
        channels_table: aws.dynamodb.Table,
        streams_table: aws.dynamodb.Table,
        user_pool: aws.cognito.UserPool,
        user_pool_client: aws.cognito.UserPoolClient,
        project_tag: str,
        region: str,
        account_id: pulumi.Input[str],
        log_retention_days: int,
        protect: bool,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ugc:service:ApiService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        https = settings.certificate_arn is not None

        # Only the load balancer's listener ports are open to the world, and only the load
        # balancer reaches the tasks.
        self.lb_security_group = aws.ec2.SecurityGroup(
            f"{name}-lb-sg", vpc_id=network.vpc.id, description="API load balancer", opts=child
        )
        self.task_security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks-sg", vpc_id=network.vpc.id, description="API tasks", opts=child
        )
        for port in (80, 443) if https else (80,):
            for cidr in EVERYWHERE:
                family = "ipv6" if ":" in cidr else "ipv4"
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-lb-{port}-{family}",
                    security_group_id=self.lb_security_group.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr if family == "ipv4" else None,
                    cidr_ipv6=cidr if family == "ipv6" else None,
                    opts=child,
                )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-lb-to-tasks",
            security_group_id=self.lb_security_group.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=self.task_security_group.id,
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-tasks-from-lb",
            security_group_id=self.task_security_group.id,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=self.lb_security_group.id,
            opts=child,
        )
        # Tasks call AWS APIs and pull images through the NAT gateways.
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-out",
            security_group_id=self.task_security_group.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            opts=child,
        )

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-lb",
            load_balancer_type="application",
            internal=False,
            security_groups=[self.lb_security_group.id],
            subnets=[subnet.id for subnet in network.public_subnets],
            drop_invalid_header_fields=True,
            # An internet-facing load balancer needs the VPC's internet gateway in place.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[network.internet_gateway]),
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            port=PORT,
            protocol="HTTP",
            target_type="ip",
            vpc_id=network.vpc.id,
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                path=HEALTH_PATH, matcher="200", interval=15, healthy_threshold=2
            ),
            opts=child,
        )
        self.listeners = self._listeners(name, settings.certificate_arn)

        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=log_retention_days, opts=child
        )
        self.execution_role = self._execution_role(name, settings.secrets)
        self.task_role = aws.iam.Role(
            f"{name}-task-role", assume_role_policy=_ECS_TASKS_TRUST, opts=child
        )
        aws.iam.RolePolicy(
            f"{name}-task-policy",
            role=self.task_role.id,
            policy=pulumi.Output.all(
                tables=[channels_table.arn, streams_table.arn],
                pool=user_pool.arn,
                account=account_id,
            ).apply(lambda values: policy_document(_task_statements(region, **values))),
            opts=child,
        )

        # Named as the API reads them.
        environment = {
            "REGION": region,
            "ACCOUNT_ID": account_id,
            "CHANNELS_TABLE_NAME": channels_table.name,
            "STREAM_TABLE_NAME": streams_table.name,
            "USER_POOL_ID": user_pool.id,
            "USER_POOL_CLIENT_ID": user_pool_client.id,
            "ALLOWED_ORIGINS": json.dumps(list(settings.allowed_origins)),
            "IVS_CHANNEL_TYPE": settings.ivs_channel_type,
            "PROJECT_TAG": project_tag,
            "SERVICE_NAME": "all",
            **settings.extra_environment,
        }
        self.service = awsx.ecs.FargateService(
            f"{name}-service",
            name=CONTAINER,
            cluster=self.cluster.arn,
            desired_count=settings.min_tasks,
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=[subnet.id for subnet in network.private_subnets],
                security_groups=[self.task_security_group.id],
                assign_public_ip=False,
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=self.target_group.arn,
                    container_name=CONTAINER,
                    container_port=PORT,
                )
            ],
            health_check_grace_period_seconds=60,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            propagate_tags="SERVICE",
            task_definition_args=awsx.ecs.FargateServiceTaskDefinitionArgs(
                cpu=str(settings.task_cpu),
                memory=str(settings.task_memory),
                execution_role=awsx.awsx.DefaultRoleWithPolicyArgs(
                    role_arn=self.execution_role.arn
                ),
                task_role=awsx.awsx.DefaultRoleWithPolicyArgs(role_arn=self.task_role.arn),
                log_group=awsx.awsx.DefaultLogGroupArgs(
                    existing=awsx.awsx.ExistingLogGroupArgs(name=self.log_group.name)
                ),
                container=awsx.ecs.TaskDefinitionContainerDefinitionArgs(
                    name=CONTAINER,
                    image=self._image(name, settings, protect),
                    essential=True,
                    port_mappings=[awsx.ecs.TaskDefinitionPortMappingArgs(container_port=PORT)],
                    environment=[
                        awsx.ecs.TaskDefinitionKeyValuePairArgs(name=key, value=value)
                        for key, value in sorted(environment.items())
                    ],
                    secrets=[
                        awsx.ecs.TaskDefinitionSecretArgs(name=key, value_from=reference)
                        for key, reference in sorted(settings.secrets.items())
                    ],
                    health_check=awsx.ecs.TaskDefinitionHealthCheckArgs(
                        command=["CMD-SHELL", HEALTH_COMMAND],
                        interval=15,
                        timeout=5,
                        retries=3,
                        start_period=30,
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=self.listeners, transforms=[keep_autoscaled_task_count]
            ),
        )

        # Target tracking creates and deletes its own CloudWatch alarms; none are declared here.
        self.scaling_target = aws.appautoscaling.Target(
            f"{name}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", CONTAINER),
            min_capacity=settings.min_tasks,
            max_capacity=settings.max_tasks,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.service]),
        )
        self.scaling_policy = aws.appautoscaling.Policy(
            f"{name}-cpu",
            policy_type="TargetTrackingScaling",
            service_namespace=self.scaling_target.service_namespace,
            scalable_dimension=self.scaling_target.scalable_dimension,
            resource_id=self.scaling_target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=settings.cpu_target_percent,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="ECSServiceAverageCPUUtilization"
                ),
                scale_in_cooldown=settings.scale_in_cooldown_seconds,
                scale_out_cooldown=settings.scale_out_cooldown_seconds,
            ),
            opts=child,
        )

        scheme = "https" if https else "http"
        self.url = pulumi.Output.concat(scheme, "://", self.load_balancer.dns_name)
        self.service_name = CONTAINER
        self.register_outputs({"apiUrl": self.url, "clusterName": self.cluster.name})

    def _listeners(self, name: str, certificate_arn: str | None) -> list[aws.lb.Listener]:
        forward = aws.lb.ListenerDefaultActionArgs(
            type="forward", target_group_arn=self.target_group.arn
        )
        child = pulumi.ResourceOptions(parent=self)
        if certificate_arn is None:
            return [
                aws.lb.Listener(
                    f"{name}-http",
                    load_balancer_arn=self.load_balancer.arn,
                    port=80,
                    protocol="HTTP",
                    default_actions=[forward],
                    opts=child,
                )
            ]
        redirect = aws.lb.ListenerDefaultActionArgs(
            type="redirect",
            redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                port="443", protocol="HTTPS", status_code="HTTP_301"
            ),
        )
        return [
            aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=self.load_balancer.arn,
                port=443,
                protocol="HTTPS",
                certificate_arn=certificate_arn,
                ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06",
                default_actions=[forward],
                opts=child,
            ),
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=self.load_balancer.arn,
                port=80,
                protocol="HTTP",
                default_actions=[redirect],
                opts=child,
            ),
        ]

    def _execution_role(self, name: str, secrets: dict[str, str]) -> aws.iam.Role:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-execution-role", assume_role_policy=_ECS_TASKS_TRUST, opts=child
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-execution-managed",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
            opts=child,
        )
        if secrets:
            resources = sorted({_secret_resource(ref) for ref in secrets.values()})
            aws.iam.RolePolicy(
                f"{name}-execution-secrets",
                role=role.id,
                policy=policy_document(
                    [
                        allow(
                            "ReadApiSecrets",
                            ["secretsmanager:GetSecretValue", "ssm:GetParameters"],
                            resources,
                        )
                    ]
                ),
                opts=child,
            )
        return role

    def _image(self, name: str, settings: ServiceSettings, protect: bool) -> pulumi.Input[str]:
        if settings.image is not None:
            return settings.image
        # A protected stack keeps its images when the repository is deleted.
        repository = awsx.ecr.Repository(
            f"{name}-repository",
            force_delete=not protect,
            opts=pulumi.ResourceOptions(parent=self),
        )
        image = awsx.ecr.Image(
            f"{name}-image",
            repository_url=repository.url,
            context=str(settings.build_context),
            platform="linux/amd64",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return image.image_uri


def _task_statements(region: str, tables: list[str], pool: str, account: str) -> list[dict]:
    """What the API itself calls, on this account's and region's resources."""
    ivs = f"arn:aws:ivs:{region}:{account}"
    return [
        allow(
            "ReadAndWriteTables",
            [
                "dynamodb:BatchGetItem",
                "dynamodb:BatchWriteItem",
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:UpdateItem",
            ],
            [arn for table in tables for arn in (table, f"{table}/index/*")],
        ),
        allow(
            "ManageUsers",
            [
                "cognito-idp:AdminDeleteUser",
                "cognito-idp:AdminDisableUser",
                "cognito-idp:AdminGetUser",
                "cognito-idp:AdminUpdateUserAttributes",
                "cognito-idp:ForgotPassword",
            ],
            [pool],
        ),
        allow(
            "ManageChannels",
            [
                "ivs:CreateChannel",
                "ivs:CreateStreamKey",
                "ivs:DeleteChannel",
                "ivs:DeleteStreamKey",
                "ivs:GetStreamSession",
                "ivs:PutMetadata",
                "ivs:StopStream",
                "ivs:TagResource",
            ],
            [f"{ivs}:channel/*", f"{ivs}:stream-key/*"],
        ),
        allow(
            "ManageStages",
            [
                "ivs:CreateParticipantToken",
                "ivs:CreateStage",
                "ivs:DeleteStage",
                "ivs:DisconnectParticipant",
                "ivs:GetStage",
                "ivs:TagResource",
            ],
            [f"{ivs}:stage/*"],
        ),
        allow(
            "ManageChatRooms",
            [
                "ivschat:CreateChatToken",
                "ivschat:CreateRoom",
                "ivschat:DeleteMessage",
                "ivschat:DeleteRoom",
                "ivschat:DisconnectUser",
                "ivschat:SendEvent",
                "ivschat:TagResource",
            ],
            [f"arn:aws:ivschat:{region}:{account}:room/*"],
        ),
        # GetMetricData has no resource-level permissions: AWS accepts only "*".
        allow("ReadStreamMetrics", ["cloudwatch:GetMetricData"], ["*"]),
    ]
