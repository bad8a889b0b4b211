"""Cognito sign-up and sign-in, as the platform's API expects them."""

import pulumi
import pulumi_aws as aws


class Identity(pulumi.ComponentResource):
    """The user pool and the API's app client.

    Args:
        protect: keep the user pool from being deleted, by AWS and by Pulumi.
        email_source_arn: an SES identity to send sign-up email through; without it, Cognito's
            own sender does, within its small daily quota.
        email_from: the sender address shown, such as `Streaming <no-reply@example.com>`.
    """

    def __init__(
        self,
        name: str,
        *,
        protect: bool,
        email_source_arn: str | None = None,
        email_from: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("ugc:identity:Identity", name, None, opts)

        # Users sign themselves up and sign in with their username, preferred username or
        # email in any case; the email they signed up with is verified and never changes.
        self.user_pool = aws.cognito.UserPool(
            f"{name}-users",
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(
                allow_admin_create_user_only=False
            ),
            alias_attributes=["email", "preferred_username"],
            username_configuration=aws.cognito.UserPoolUsernameConfigurationArgs(
                case_sensitive=False
            ),
            auto_verified_attributes=["email"],
            schemas=[
                aws.cognito.UserPoolSchemaArgs(
                    name="email",
                    attribute_data_type="String",
                    required=True,
                    mutable=False,
                    string_attribute_constraints=aws.cognito.UserPoolSchemaStringAttributeConstraintsArgs(
                        min_length="1", max_length="2048"
                    ),
                )
            ],
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=8,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=7,
            ),
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
                recovery_mechanisms=[
                    aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                        name="verified_email", priority=1
                    )
                ]
            ),
            email_configuration=(
                aws.cognito.UserPoolEmailConfigurationArgs(
                    email_sending_account="DEVELOPER",
                    source_arn=email_source_arn,
                    from_email_address=email_from,
                )
                if email_source_arn
                else None
            ),
            deletion_protection="ACTIVE" if protect else "INACTIVE",
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )
        self.client = aws.cognito.UserPoolClient(
            f"{name}-api-client",
            user_pool_id=self.user_pool.id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.register_outputs({"userPoolId": self.user_pool.id, "userPoolClientId": self.client.id})
