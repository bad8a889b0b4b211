"""IVS stream events: an EventBridge rule, the handler that keeps the streams table true, a DLQ."""

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
RUNTIME = "python3.14"
STREAM_EVENT_TYPES = ["IVS Stream State Change", "IVS Stream Health Change", "IVS Limit Breach"]

# An event that still fails after these retries lands in the dead-letter queue.
DELIVERY_RETRIES = 10
FUNCTION_RETRIES = 2
MAX_EVENT_AGE_SECONDS = 6 * 3600


def handlers_archive() -> pulumi.AssetArchive:
    """The `handlers` package alone, file by file, so the archive changes only with the code."""
    return pulumi.AssetArchive(
        {
            f"handlers/{path.name}": pulumi.FileAsset(str(path))
            for path in sorted(HANDLERS_DIR.glob("*.py"))
        }
    )


def lambda_trust_policy() -> str:
    """The trust policy that lets Lambda assume a function's role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _policy(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


class StreamEvents(pulumi.ComponentResource):
    """Routes IVS stream events from the default bus to the stream events handler.

    Args:
        log_retention_days: how long the handler's log group keeps its logs.
    """

    def __init__(
        self,
        name: str,
        *,
        channels_table: aws.dynamodb.Table,
        streams_table: aws.dynamodb.Table,
        log_retention_days: int,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ugc:events:StreamEvents", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=14 * 24 * 3600,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=log_retention_days, opts=child
        )

        self.role = aws.iam.Role(
            f"{name}-role", assume_role_policy=lambda_trust_policy(), opts=child
        )
        # Exactly the calls handlers/stream_events.py makes; transactions are authorised per
        # contained UpdateItem.
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.all(
                channels=channels_table.arn,
                streams=streams_table.arn,
                logs=self.log_group.arn,
                dlq=self.dead_letter_queue.arn,
            ).apply(
                lambda arns: _policy(
                    [
                        {
                            "Sid": "FindChannelOwner",
                            "Effect": "Allow",
                            "Action": ["dynamodb:Query"],
                            "Resource": [f"{arns['channels']}/index/channelArnIndex"],
                        },
                        {
                            "Sid": "SerializeSessionCreations",
                            "Effect": "Allow",
                            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                            "Resource": [arns["channels"]],
                        },
                        {
                            "Sid": "KeepSessionState",
                            "Effect": "Allow",
                            "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                            "Resource": [arns["streams"]],
                        },
                        {
                            "Sid": "FindNeighbourSessions",
                            "Effect": "Allow",
                            "Action": ["dynamodb:Query"],
                            "Resource": [f"{arns['streams']}/index/startTimeIndex"],
                        },
                        {
                            "Sid": "WriteLogs",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": [f"{arns['logs']}:*"],
                        },
                        {
                            "Sid": "DeadLetterFailedEvents",
                            "Effect": "Allow",
                            "Action": ["sqs:SendMessage"],
                            "Resource": [arns["dlq"]],
                        },
                    ]
                )
            ),
            opts=child,
        )

        self.function = aws.lambda_.Function(
            f"{name}-handler",
            runtime=RUNTIME,
            architectures=["arm64"],
            handler="handlers.stream_events.handler",
            code=handlers_archive(),
            role=self.role.arn,
            memory_size=256,
            timeout=30,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "CHANNELS_TABLE_NAME": channels_table.name,
                    "STREAM_TABLE_NAME": streams_table.name,
                }
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=self.log_group.name,
                application_log_level="INFO",
                system_log_level="WARN",
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
        )
        self.invoke_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-retries",
            function_name=self.function.name,
            maximum_retry_attempts=FUNCTION_RETRIES,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.dead_letter_queue.arn
                )
            ),
            opts=child,
        )

        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule",
            description="IVS stream state, health and limit events for the stream events handler",
            event_bus_name="default",
            event_pattern=json.dumps({"source": ["aws.ivs"], "detail-type": STREAM_EVENT_TYPES}),
            opts=child,
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=child,
        )
        self.target = aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            event_bus_name="default",
            arn=self.function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=DELIVERY_RETRIES,
                maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                arn=self.dead_letter_queue.arn
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.permission]),
        )
        # EventBridge sends events it could not deliver; Lambda sends those the handler failed.
        self.queue_policy = aws.sqs.QueuePolicy(
            f"{name}-dlq-policy",
            queue_url=self.dead_letter_queue.url,
            policy=pulumi.Output.all(queue=self.dead_letter_queue.arn, rule=self.rule.arn).apply(
                lambda arns: _policy(
                    [
                        {
                            "Sid": "UndeliveredStreamEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": arns["queue"],
                            "Condition": {"ArnEquals": {"aws:SourceArn": arns["rule"]}},
                        }
                    ]
                )
            ),
            opts=child,
        )

        self.register_outputs(
            {
                "functionName": self.function.name,
                "deadLetterQueueUrl": self.dead_letter_queue.url,
            }
        )
