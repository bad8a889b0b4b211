"""IVS stream events: an EventBridge rule, the handler that keeps the streams table true, a DLQ."""

import json

import pulumi
import pulumi_aws as aws

from components.handler_function import HandlerFunction, allow, policy_document

STREAM_EVENT_TYPES = ["IVS Stream State Change", "IVS Stream Health Change", "IVS Limit Breach"]

# An event that still fails after these retries lands in the dead-letter queue.
DELIVERY_RETRIES = 10
FUNCTION_RETRIES = 2
MAX_EVENT_AGE_SECONDS = 6 * 3600


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
        # Exactly the calls handlers/stream_events.py makes; a transaction is authorised by
        # the UpdateItem permissions of the rows it writes.
        statements = pulumi.Output.all(
            channels=channels_table.arn, streams=streams_table.arn, dlq=self.dead_letter_queue.arn
        ).apply(
            lambda arns: [
                allow(
                    "FindChannelOwner",
                    ["dynamodb:Query"],
                    [f"{arns['channels']}/index/channelArnIndex"],
                ),
                allow(
                    "KeepSessionStateAndTheChannelMarker",
                    ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                    [arns["streams"]],
                ),
                allow(
                    "FindNeighbourSessions",
                    ["dynamodb:Query"],
                    [f"{arns['streams']}/index/startTimeIndex"],
                ),
                allow("DeadLetterFailedEvents", ["sqs:SendMessage"], [arns["dlq"]]),
            ]
        )
        self.handler = HandlerFunction(
            f"{name}-handler",
            handler="handlers.stream_events.handler",
            statements=statements,
            environment={
                "CHANNELS_TABLE_NAME": channels_table.name,
                "STREAM_TABLE_NAME": streams_table.name,
            },
            log_retention_days=log_retention_days,
            timeout_seconds=30,
            opts=child,
        )
        self.function = self.handler.function
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
                lambda arns: policy_document(
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
