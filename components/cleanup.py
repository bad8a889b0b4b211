"""Scheduled cleanup: users who never confirmed their sign-up, and idle real-time stages."""

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.handler_function import HandlerFunction, allow

# A scheduled run that cannot be delivered is tried again for a while, then skipped; a run
# that fails is not repeated at once (it may have taken many minutes): the next scheduled run
# covers the same ground.
DELIVERY_RETRIES = 3
MAX_EVENT_AGE_SECONDS = 3600


@dataclass(frozen=True)
class Job:
    """When a cleanup runs and how old something must be for it to go."""

    schedule: str
    max_age: int


class Cleanup(pulumi.ComponentResource):
    """Two scheduled functions that keep users and stages tidy.

    Args:
        unconfirmed_users: schedule, and the hours a user may stay unconfirmed.
        idle_stages: schedule, and the minutes a stage may exist without a session.
        project_tag: the `project` tag value this stack's API puts on its stages.
    """

    def __init__(
        self,
        name: str,
        *,
        channels_table: aws.dynamodb.Table,
        user_pool: aws.cognito.UserPool,
        region: str,
        account_id: pulumi.Input[str],
        project_tag: str,
        unconfirmed_users: Job,
        idle_stages: Job,
        log_retention_days: int,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ugc:cleanup:Cleanup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        users_statements = pulumi.Output.all(pool=user_pool.arn, channels=channels_table.arn).apply(
            lambda arns: [
                allow(
                    "FindAndRemoveUnconfirmedUsers",
                    ["cognito-idp:ListUsers", "cognito-idp:AdminDeleteUser"],
                    [arns["pool"]],
                ),
                allow("RemoveTheirChannelRows", ["dynamodb:DeleteItem"], [arns["channels"]]),
            ]
        )
        # Ten deletions a second with four workers: 15 minutes covers about 9,000 users; the
        # next run takes the rest.
        self.unconfirmed_users = HandlerFunction(
            f"{name}-unconfirmed-users",
            handler="handlers.cleanup_unconfirmed_users.handler",
            statements=users_statements,
            environment={
                "USER_POOL_ID": user_pool.id,
                "CHANNELS_TABLE_NAME": channels_table.name,
                "UNCONFIRMED_MAX_AGE_HOURS": str(unconfirmed_users.max_age),
            },
            log_retention_days=log_retention_days,
            timeout_seconds=900,
            opts=child,
        )
        self._schedule(f"{name}-unconfirmed-users", self.unconfirmed_users, unconfirmed_users)

        stages_statements = pulumi.Output.all(
            channels=channels_table.arn, account=account_id
        ).apply(
            lambda values: [
                # ListStages has no resource-level permissions: AWS accepts only "*".
                allow("ListStages", ["ivs:ListStages"], ["*"]),
                allow(
                    "DeleteStagesOfThisAccountAndRegion",
                    ["ivs:DeleteStage"],
                    [f"arn:aws:ivs:{region}:{values['account']}:stage/*"],
                ),
                allow(
                    "FindStageOwners",
                    ["dynamodb:Query"],
                    [f"{values['channels']}/index/channelArnIndex"],
                ),
                allow("ForgetDeletedStages", ["dynamodb:UpdateItem"], [values["channels"]]),
            ]
        )
        # Five deletions a second: 10 minutes covers about 3,000 stages.
        self.idle_stages = HandlerFunction(
            f"{name}-idle-stages",
            handler="handlers.cleanup_idle_stages.handler",
            statements=stages_statements,
            environment={
                "CHANNELS_TABLE_NAME": channels_table.name,
                "PROJECT_TAG": project_tag,
                "STAGE_MAX_IDLE_MINUTES": str(idle_stages.max_age),
                "REGION": region,
                "ACCOUNT_ID": account_id,
            },
            log_retention_days=log_retention_days,
            timeout_seconds=600,
            opts=child,
        )
        self._schedule(f"{name}-idle-stages", self.idle_stages, idle_stages)

        self.register_outputs({})

    def _schedule(self, name: str, target: HandlerFunction, job: Job) -> None:
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-no-retries",
            function_name=target.function.name,
            maximum_retry_attempts=0,
            opts=pulumi.ResourceOptions(parent=self),
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-schedule",
            schedule_expression=job.schedule,
            opts=pulumi.ResourceOptions(parent=self),
        )
        permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=target.function.name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=rule.name,
            arn=target.function.arn,
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_retry_attempts=DELIVERY_RETRIES,
                maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
