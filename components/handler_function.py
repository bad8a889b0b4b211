"""A Lambda function running one of `handlers/`, with its own role, policy and log group."""

import json
from pathlib import Path

import pulumi
import pulumi_aws as aws

HANDLERS_DIR = Path(__file__).resolve().parent.parent / "handlers"
RUNTIME = "python3.14"


def handlers_archive() -> pulumi.AssetArchive:
    """The `handlers` package alone, file by file, so the archive changes only with the code."""
    return pulumi.AssetArchive(
        {
            f"handlers/{path.name}": pulumi.FileAsset(str(path))
            for path in sorted(HANDLERS_DIR.glob("*.py"))
        }
    )


def allow(sid: str, actions: list[str], resources: list[str]) -> dict:
    """An IAM statement allowing `actions` on `resources`."""
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def policy_document(statements: list[dict]) -> str:
    """An IAM policy document holding `statements`."""
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


_LAMBDA_TRUST = policy_document(
    [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
)


class HandlerFunction(pulumi.ComponentResource):
    """A function from `handlers/` that may do exactly what `statements` allow, and log.

    Args:
        handler: the entry point, such as `handlers.stream_events.handler`.
        statements: the IAM statements of everything the handler calls besides its logs.
        environment: every variable the handler reads.
    """

    def __init__(
        self,
        name: str,
        *,
        handler: str,
        statements: pulumi.Input[list[dict]],
        environment: dict[str, pulumi.Input[str]],
        log_retention_days: int,
        timeout_seconds: int,
        memory_mb: int = 256,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ugc:handler_function:HandlerFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=log_retention_days, opts=child
        )
        self.role = aws.iam.Role(f"{name}-role", assume_role_policy=_LAMBDA_TRUST, opts=child)
        self.role_policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            policy=pulumi.Output.all(self.log_group.arn, statements).apply(
                lambda args: policy_document(
                    [
                        *args[1],
                        allow(
                            "WriteLogs",
                            ["logs:CreateLogStream", "logs:PutLogEvents"],
                            [f"{args[0]}:*"],
                        ),
                    ]
                )
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            runtime=RUNTIME,
            architectures=["arm64"],
            handler=handler,
            code=handlers_archive(),
            role=self.role.arn,
            memory_size=memory_mb,
            timeout=timeout_seconds,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON",
                log_group=self.log_group.name,
                application_log_level="INFO",
                system_log_level="WARN",
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role_policy]),
        )

        self.register_outputs({"functionName": self.function.name})
