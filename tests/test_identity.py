"""The identity component as declared under mocks: sign-up, sign-in and protection per stack."""

import pytest

from emulator.program import run_program
from settings import ConfigError


def test_users_sign_themselves_up_and_sign_in_by_username_preferred_username_or_email(
    dev_program,
):
    pool = dev_program.named("identity-users").inputs

    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": False}
    assert sorted(pool["aliasAttributes"]) == ["email", "preferred_username"]
    assert pool["usernameConfiguration"] == {"caseSensitive": False}


def test_email_is_required_immutable_and_verified_automatically(dev_program):
    pool = dev_program.named("identity-users").inputs

    [email] = [s for s in pool["schemas"] if s["name"] == "email"]
    assert email["required"] is True and email["mutable"] is False
    assert email["attributeDataType"] == "String"
    assert pool["autoVerifiedAttributes"] == ["email"]


def test_passwords_need_eight_characters_with_lower_upper_digit_and_symbol(dev_program):
    policy = dev_program.named("identity-users").inputs["passwordPolicy"]

    assert policy["minimumLength"] == 8
    assert policy["requireLowercase"] and policy["requireUppercase"]
    assert policy["requireNumbers"] and policy["requireSymbols"]


def test_api_client_has_no_secret_and_only_password_and_refresh_flows(dev_program):
    client = dev_program.named("identity-api-client")

    assert client.inputs["generateSecret"] is False
    assert sorted(client.inputs["explicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
    ]
    assert client.inputs["userPoolId"] == dev_program.named("identity-users").id


@pytest.mark.parametrize(("stack", "protected"), [("dev", False), ("prod", True)])
def test_user_pool_protection_follows_the_stack(stack, protected):
    pool = run_program(stack).named("identity-users")

    assert pool.protect is protected
    assert pool.inputs["deletionProtection"] == ("ACTIVE" if protected else "INACTIVE")


def test_stack_exports_the_user_pool_and_client_ids(dev_program):
    assert dev_program.outputs["userPoolId"] == dev_program.named("identity-users").id
    assert dev_program.outputs["userPoolClientId"] == (dev_program.named("identity-api-client").id)


def test_sign_up_email_goes_through_cognito_unless_an_ses_identity_is_configured():
    source = "arn:aws:ses:us-west-2:123456789012:identity/example.com"
    default = run_program("dev").named("identity-users").inputs
    with_ses = (
        run_program(
            "dev",
            overrides={"ugc:emailSourceArn": source, "ugc:emailFrom": "Streaming <hi@example.com>"},
        )
        .named("identity-users")
        .inputs
    )

    assert "emailConfiguration" not in default
    assert with_ses["emailConfiguration"] == {
        "emailSendingAccount": "DEVELOPER",
        "sourceArn": source,
        "fromEmailAddress": "Streaming <hi@example.com>",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ugc:emailSourceArn": "example.com"}, "ugc:emailSourceArn is not an SES identity ARN"),
        ({"ugc:emailFrom": "hi@example.com"}, "ugc:emailFrom needs ugc:emailSourceArn"),
    ],
)
def test_email_settings_that_cannot_send_stop_the_program(overrides, message):
    with pytest.raises(ConfigError, match=message):
        run_program("dev", overrides=overrides)
