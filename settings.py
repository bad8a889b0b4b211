"""Stack configuration, read once and checked before any resource is declared."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi

# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip


_RATE = re.compile(r"rate\((?P<amount>\d+) (minute|hour|day)(?P<plural>s?)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]+)\)")


# The memory sizes (MiB) Fargate offers for each task size (CPU units).
FARGATE_MEMORY = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}
IVS_CHANNEL_TYPES = ("BASIC", "STANDARD", "ADVANCED_SD", "ADVANCED_HD")
# Names the API reads itself; extra variables may not replace them.
API_ENVIRONMENT_NAMES = (
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
)
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$|PRIVATE", re.IGNORECASE)
_SECRET_REFERENCE = re.compile(
    r"arn:aws[\w-]*:(secretsmanager:[\w-]+:\d{12}:secret:|ssm:[\w-]+:\d{12}:parameter/).+"
)
_IMAGE = re.compile(r"[\w.-]+(:\d+)?(/[\w.-]+)+(:[\w.-]+|@sha256:[0-9a-f]{64})?|[\w.-]+(:[\w.-]+)?")
_CERTIFICATE = re.compile(r"arn:aws[\w-]*:acm:[\w-]+:\d{12}:certificate/[\w-]+")


class ConfigError(pulumi.RunError):
    """A stack setting is missing or holds a value the program cannot use."""


@dataclass(frozen=True)
class ServiceSettings:
    """How the platform's API runs: network, image, size, environment and scaling."""

    availability_zones: int
    nat_gateways: int
    certificate_arn: str | None
    task_cpu: int
    task_memory: int
    image: str | None
    build_context: Path | None
    allowed_origins: tuple[str, ...]
    ivs_channel_type: str
    extra_environment: dict[str, str]
    secrets: dict[str, str]
    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    scale_in_cooldown_seconds: int
    scale_out_cooldown_seconds: int


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
    service: ServiceSettings


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

    def word(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self._config.get(key)
        if raw is None:
            return default
        if raw.strip() not in allowed:
            listed = ", ".join(allowed)
            raise self._fail(key, f"must be one of {listed}, not {raw!r}", default)
        return raw.strip()

    def matching(self, key: str, pattern: re.Pattern, looks_like: str, example: str) -> str | None:
        value = self.text(key, example=example)
        if value is not None and not pattern.fullmatch(value):
            raise self._fail(key, f"is not {looks_like}: {value!r}", example)
        return value

    def _json(self, key: str, kind: type, problem: str, item: str):
        raw = self._config.get(key)
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, kind):
            raise self._structured_fail(key, problem, item)
        return value

    def _structured_fail(self, key: str, problem: str, item: str) -> ConfigError:
        return ConfigError(
            f"Stack setting {self._namespace}:{key} {problem}; set its items one by one with "
            f"`pulumi config set --path '{key}{item}'`."
        )

    def strings(self, key: str) -> tuple[str, ...]:
        problem, item = "must be a list of non-empty strings", "[0]' https://example.com"
        values = self._json(key, list, problem, item) or []
        if not all(isinstance(v, str) and v for v in values):
            raise self._structured_fail(key, problem, item)
        return tuple(values)

    def string_map(self, key: str, item: str) -> dict[str, str]:
        problem = "must map names to strings"
        values = self._json(key, dict, problem, item) or {}
        if not all(isinstance(v, str) for v in values.values()):
            raise self._structured_fail(key, problem, item)
        return values

    def is_secret(self, key: str) -> bool:
        return pulumi.runtime.is_config_secret(f"{self._namespace}:{key}")

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
        service=_service(ugc),
    )


def _service(ugc: _Reader) -> ServiceSettings:
    zones = ugc.integer("availabilityZones", 2, 2, 6)
    cpu = ugc.choice("taskCpu", 256, tuple(FARGATE_MEMORY))
    min_tasks = ugc.integer("minTasks", 1, 1, 1000)
    max_tasks = ugc.integer("maxTasks", 30, 1, 1000)
    if min_tasks > max_tasks:
        raise ConfigError(
            f"Stack setting ugc:minTasks ({min_tasks}) is above ugc:maxTasks ({max_tasks}); "
            "lower minTasks or raise maxTasks with `pulumi config set`."
        )
    return ServiceSettings(
        availability_zones=zones,
        nat_gateways=ugc.integer("natGateways", 1, 1, zones),
        certificate_arn=ugc.matching(
            "certificateArn", _CERTIFICATE, "an ACM certificate ARN", "arn:aws:acm:..."
        ),
        task_cpu=cpu,
        task_memory=ugc.choice("taskMemory", FARGATE_MEMORY[cpu][0], FARGATE_MEMORY[cpu]),
        **_image(ugc),
        allowed_origins=ugc.strings("allowedOrigins"),
        ivs_channel_type=ugc.word("ivsChannelType", "STANDARD", IVS_CHANNEL_TYPES),
        extra_environment=_extra_environment(ugc),
        secrets=_secrets(ugc),
        min_tasks=min_tasks,
        max_tasks=max_tasks,
        cpu_target_percent=ugc.integer("cpuTargetPercent", 70, 1, 100),
        scale_in_cooldown_seconds=ugc.integer("scaleInCooldownSeconds", 60, 0, 3600),
        scale_out_cooldown_seconds=ugc.integer("scaleOutCooldownSeconds", 60, 0, 3600),
    )


def _image(ugc: _Reader) -> dict:
    image = ugc.matching(
        "apiImage",
        _IMAGE,
        "an image URI",
        "123456789012.dkr.ecr.us-west-2.amazonaws.com/ugc-api:1.0",
    )
    context = ugc.text("apiBuildContext", example="../ugc-api")
    if image and context:
        raise ConfigError(
            "Stack settings ugc:apiImage and ugc:apiBuildContext are both set; keep one with "
            "`pulumi config rm`."
        )
    if not image and not context:
        raise ConfigError(
            "Neither ugc:apiImage (an image URI) nor ugc:apiBuildContext (a folder with a "
            "Dockerfile) is set; set one with `pulumi config set`."
        )
    folder = Path(context) if context else None
    if folder is not None and not (folder / "Dockerfile").is_file():
        raise ConfigError(
            f"Stack setting ugc:apiBuildContext names {context!r}, which has no Dockerfile; "
            "point it at the API's source folder."
        )
    return {"image": image, "build_context": folder}


def _extra_environment(ugc: _Reader) -> dict[str, str]:
    extra = ugc.string_map("apiEnvironment", ".LOG_LEVEL' info")
    if extra and ugc.is_secret("apiEnvironment"):
        raise ConfigError(
            "Stack setting ugc:apiEnvironment is a secret, but it becomes plain environment "
            "variables; put secrets in ugc:apiSecrets as Secrets Manager ARNs."
        )
    for name in extra:
        if name in API_ENVIRONMENT_NAMES:
            raise ConfigError(
                f"Stack setting ugc:apiEnvironment sets {name}, which the stack sets itself; "
                "remove it from apiEnvironment."
            )
        if _SECRET_NAME.search(name):
            raise ConfigError(
                f"Stack setting ugc:apiEnvironment sets {name}, which looks like a secret; "
                "put it in ugc:apiSecrets as a Secrets Manager ARN instead."
            )
    return extra


def _secrets(ugc: _Reader) -> dict[str, str]:
    secrets = ugc.string_map("apiSecrets", ".PAGINATION_TOKEN_KEY' arn:aws:secretsmanager:...")
    for name, reference in secrets.items():
        if not _SECRET_REFERENCE.fullmatch(reference):
            raise ConfigError(
                f"Stack setting ugc:apiSecrets.{name} is not a Secrets Manager secret or SSM "
                "parameter ARN; store the value there and set its ARN."
            )
        if name in API_ENVIRONMENT_NAMES:
            raise ConfigError(
                f"Stack setting ugc:apiSecrets sets {name}, which the stack sets itself; "
                "remove it from apiSecrets."
            )
    return secrets
