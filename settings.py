"""Stack configuration, read once and checked before any resource is declared."""

import re
from dataclasses import dataclass

import pulumi

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip


_RATE = re.compile(r"rate\((?P<amount>\d+) (minute|hour|day)(?P<plural>s?)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]+)\)")


class ConfigError(pulumi.RunError):
    """A stack setting is missing or holds a value the program cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the program reads from the stack's configuration."""

    project: str
    stack: str
    region: str
    profile: str | None
    protect: bool
    log_retention_days: int
    project_tag: str
    unconfirmed_users_schedule: str
    unconfirmed_users_max_age_hours: int
    idle_stages_schedule: str
    idle_stages_max_age_minutes: int


class _Reader:
    """Typed access to one configuration namespace, with errors that name the key."""

    def __init__(self, namespace: str):
        self._namespace = namespace
        self._config = pulumi.Config(namespace)

    def _fail(self, key: str, problem: str, example: str) -> ConfigError:
        full = f"{self._namespace}:{key}"
        return ConfigError(
            f"Stack setting {full} {problem}; set it with `pulumi config set {full} {example}`."
        )

    def text(self, key: str, default: str | None = None, *, example: str) -> str | None:
        raw = self._config.get(key)
        if raw is None:
            return default
        if not raw.strip():
            raise self._fail(key, "is empty", example)
        return raw.strip()

    def required_text(self, key: str, *, example: str) -> str:
        value = self.text(key, example=example)
        if value is None:
            raise self._fail(key, "is not set", example)
        return value

    def integer(self, key: str, default: int, minimum: int, maximum: int) -> int:
        raw = self._config.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            raise self._fail(
                key,
                f"must be a whole number from {minimum} to {maximum}, not {raw!r}",
                str(default),
            )
        return value

    def schedule(self, key: str, default: str) -> str:
        raw = self._config.get(key)
        if raw is None:
            return default
        value = raw.strip()
        rate = _RATE.fullmatch(value)
        if rate and int(rate["amount"]) > 0 and (rate["amount"] == "1") == (not rate["plural"]):
            return value
        cron = _CRON.fullmatch(value)
        if cron and len(cron["fields"].split()) == 6 and "?" in cron["fields"].split()[2:5:2]:
            return value
        raise self._fail(
            key,
            f"is not an EventBridge schedule expression, not {raw!r} "
            "(write rate(1 hour), rate(30 minutes) or cron(0 3 * * ? *))",
            f"'{default}'",
        )

    def choice(self, key: str, default: int, allowed: tuple[int, ...]) -> int:
        raw = self._config.get(key)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value not in allowed:
            listed = ", ".join(map(str, allowed))
            raise self._fail(key, f"must be one of {listed}, not {raw!r}", str(default))
        return value

    def flag(self, key: str, default: bool) -> bool:
        raw = self._config.get(key)
        if raw is None:
            return default
        if raw.strip().lower() not in ("true", "false"):
            raise self._fail(key, f"must be true or false, not {raw!r}", "true")
        return raw.strip().lower() == "true"


def load() -> Settings:
    """Read and check the current stack's configuration."""
    ugc = _Reader(pulumi.get_project())
    aws = _Reader("aws")

    project, stack = pulumi.get_project(), pulumi.get_stack()
    return Settings(
        project=project,
        stack=stack,
        region=aws.required_text("region", example="us-west-2"),
        profile=aws.text("profile", example="my-profile"),
        protect=ugc.flag("protect", default=False),
        log_retention_days=ugc.choice("logRetentionDays", 14, LOG_RETENTION_DAYS),
        project_tag=ugc.text("projectTag", f"{project}-{stack}", example="ugc-dev"),
        unconfirmed_users_schedule=ugc.schedule("unconfirmedUsersSchedule", "rate(48 hours)"),
        unconfirmed_users_max_age_hours=ugc.integer("unconfirmedUsersMaxAgeHours", 24, 1, 24 * 365),
        idle_stages_schedule=ugc.schedule("idleStagesSchedule", "rate(24 hours)"),
        idle_stages_max_age_minutes=ugc.integer("idleStagesMaxAgeMinutes", 60, 1, 7 * 24 * 60),
    )
