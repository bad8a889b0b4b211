"""Stack configuration, read once and checked before any resource is declared."""

import difflib
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


def _pattern(text: str) -> re.Pattern:
    return re.compile(text, re.ASCII)


_REGION = _pattern(r"[a-z]{2}(-[a-z]+)+-[0-9]")
_RATE = _pattern(r"rate\((?P<amount>[0-9]{1,5}) (minute|hour|day)(?P<plural>s?)\)")
_CRON = _pattern(r"cron\((?P<fields>[^()]+)\)")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# The cron fields in order: their range, names, and the special forms each accepts.
_CRON_FIELDS = (
    (0, 59, (), ()),
    (0, 23, (), ()),
    (1, 31, (), (_pattern(r"\?|L|LW|([1-9]|[12][0-9]|3[01])W"),)),
    (1, 12, _MONTHS, ()),
    (1, 7, _DAYS, (_pattern(r"\?|L|[1-7]L|[1-7]#[1-5]"),)),
    (1970, 2199, (), ()),
)
_TAG_VALUE = _pattern(r"[\w .:/=+@-]{1,256}")
_VARIABLE = _pattern(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_NAME = _pattern(r"(?i)SECRET|PASSWORD|TOKEN|_KEY$|PRIVATE")
_SECRET_REFERENCE = _pattern(
    r"arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:|ssm:[a-z0-9-]+:[0-9]{12}:parameter/)"
    r"[A-Za-z0-9/_+=.@:-]+"
)
# An image reference as Docker reads it: [registry[:port]/]path[:tag][@digest].
_IMAGE = _pattern(
    r"(?=.{1,255}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)
_SES_IDENTITY = _pattern(r"arn:aws[a-z-]*:ses:(?P<region>[a-z0-9-]+):[0-9]{12}:identity/.+")
_CERTIFICATE = _pattern(
    r"arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[A-Za-z0-9-]+"
)
_ORIGIN = _pattern(
    r"https?://[A-Za-z0-9.-]+(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
)
# Cognito sends through SES in its own region or in one of these.
_SES_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")


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
    email_source_arn: str | None
    email_from: str | None
    service: ServiceSettings


class _Reader:
    """Typed access to one configuration namespace, with errors that name the key."""

    def __init__(self, namespace: str):
        self._namespace = namespace
        self._config = pulumi.Config(namespace)
        self.read: set[str] = set()

    def _get(self, key: str) -> str | None:
        self.read.add(f"{self._namespace}:{key}")
        return self._config.get(key)

    def refuse_unknown(self) -> None:
        """Fail on a key of this namespace that the program never read: likely a typo."""
        present = set(pulumi.runtime.config.CONFIG.get()) | set(
            pulumi.runtime.config.get_config_env()
        )
        prefix = f"{self._namespace}:"
        unknown = sorted(k for k in present if k.startswith(prefix) and k not in self.read)
        if unknown:
            close = difflib.get_close_matches(unknown[0], sorted(self.read), n=1)
            hint = f" ({close[0]} is)" if close else ""
            raise ConfigError(
                f"Stack setting {unknown[0]} is not one this program reads{hint}; fix its name "
                f"or remove it with `pulumi config rm {unknown[0]}`."
            )

    def fail(self, key: str, problem: str, example: str) -> ConfigError:
        """The error for a bad value, with the command that sets a good one."""
        full = f"{self._namespace}:{key}"
        return ConfigError(
            f"Stack setting {full} {problem}; set it with `pulumi config set {full} {example}`."
        )

    def text(self, key: str, default: str | None = None, *, example: str) -> str | None:
        raw = self._get(key)
        if raw is None:
            return default
        if not raw.strip():
            raise self.fail(key, "is empty", example)
        return raw.strip()

    def required_text(self, key: str, *, example: str) -> str:
        value = self.text(key, example=example)
        if value is None:
            raise self.fail(key, "is not set", example)
        return value

    def matching(
        self, key: str, pattern: re.Pattern, looks_like: str, example: str, default=None
    ) -> str | None:
        value = self.text(key, default, example=example)
        if value is not None and not pattern.fullmatch(value):
            raise self.fail(key, f"is not {looks_like}: {value[:100]!r}", example)
        return value

    def integer(self, key: str, default: int, minimum: int, maximum: int) -> int:
        raw = self._get(key)
        if raw is None:
            return default
        text = raw.strip()
        value = int(text) if re.fullmatch(r"-?[0-9]{1,9}", text, re.ASCII) else None
        if value is None or not minimum <= value <= maximum:
            raise self.fail(
                key,
                f"must be a whole number from {minimum} to {maximum}, not {raw[:20]!r}",
                str(default),
            )
        return value

    def choice(self, key: str, default: int, allowed: tuple[int, ...]) -> int:
        raw = self._get(key)
        if raw is None:
            return default
        if raw.strip() not in {str(value) for value in allowed}:
            listed = ", ".join(map(str, allowed))
            raise self.fail(key, f"must be one of {listed}, not {raw[:20]!r}", str(default))
        return int(raw)

    def word(self, key: str, default: str, allowed: tuple[str, ...]) -> str:
        raw = self._get(key)
        if raw is None:
            return default
        if raw.strip() not in allowed:
            listed = ", ".join(allowed)
            raise self.fail(key, f"must be one of {listed}, not {raw[:40]!r}", default)
        return raw.strip()

    def flag(self, key: str, default: bool) -> bool:
        raw = self._get(key)
        if raw is None:
            return default
        if raw.strip().lower() not in ("true", "false"):
            raise self.fail(key, f"must be true or false, not {raw[:20]!r}", "true")
        return raw.strip().lower() == "true"

    def schedule(self, key: str, default: str) -> str:
        raw = self._get(key)
        if raw is None:
            return default
        value = raw.strip()
        if not _valid_schedule(value):
            raise self.fail(
                key,
                f"is not an EventBridge schedule expression: {value[:60]!r} "
                "(write rate(1 hour), rate(30 minutes) or cron(0 3 * * ? *))",
                f"'{default}'",
            )
        return value

    def structured(self, key: str, kind: type, path: str, value: str, problem: str):
        """A list or map setting, which `pulumi config set --path` stores as JSON."""
        raw = self._get(key)
        if raw is None:
            return kind()
        try:
            parsed = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            parsed = None
        if not isinstance(parsed, kind):
            raise self.structured_fail(key, path, value, problem)
        return parsed

    def structured_fail(self, key: str, path: str, value: str, problem: str) -> ConfigError:
        """The error for a bad list or map setting, with the command that sets an item."""
        return ConfigError(
            f"Stack setting {self._namespace}:{key} {problem}; set its items one by one with "
            f"`pulumi config set --path '{key}{path}' {value}`."
        )

    def is_secret(self, key: str) -> bool:
        return pulumi.runtime.is_config_secret(f"{self._namespace}:{key}")


def _cron_value(token: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if token.upper() in names:
        return True
    return token.isascii() and token.isdigit() and low <= int(token) <= high


def _cron_field(field: str, low: int, high: int, names: tuple, specials: tuple) -> bool:
    """One cron field: *, values, ranges and steps separated by commas, or a special form."""
    if any(special.fullmatch(field) for special in specials):
        return True
    for item in field.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isascii() and step.isdigit() and 1 <= int(step) <= high):
            return False
        start, dash, end = base.partition("-")
        if base == "*":
            continue
        if not _cron_value(start, low, high, names):
            return False
        if dash and not _cron_value(end, low, high, names):
            return False
    return True


def _valid_schedule(value: str) -> bool:
    rate = _RATE.fullmatch(value)
    if rate:
        amount = int(rate["amount"])
        return amount > 0 and (amount == 1) == (not rate["plural"])
    cron = _CRON.fullmatch(value)
    if not cron:
        return False
    fields = cron["fields"].split()
    if len(fields) != 6 or [fields[2], fields[4]].count("?") != 1:
        return False
    return all(
        _cron_field(field, *rules) for field, rules in zip(fields, _CRON_FIELDS, strict=True)
    )


def load() -> Settings:
    """Read and check the current stack's configuration."""
    ugc = _Reader(pulumi.get_project())
    aws = _Reader("aws")
    project, stack = pulumi.get_project(), pulumi.get_stack()

    region = aws.required_text("region", example="us-west-2")
    if not _REGION.fullmatch(region):
        raise aws.fail("region", f"is not an AWS region: {region[:40]!r}", "us-west-2")
    settings = Settings(
        project=project,
        stack=stack,
        region=region,
        profile=aws.text("profile", example="my-profile"),
        protect=ugc.flag("protect", default=False),
        log_retention_days=ugc.choice("logRetentionDays", 14, LOG_RETENTION_DAYS),
        project_tag=ugc.matching(
            "projectTag",
            _TAG_VALUE,
            "a tag value (letters, digits, spaces and _ . : / = + - @, at most 256)",
            "ugc-dev",
            default=f"{project}-{stack}",
        ),
        unconfirmed_users_schedule=ugc.schedule("unconfirmedUsersSchedule", "rate(48 hours)"),
        unconfirmed_users_max_age_hours=ugc.integer("unconfirmedUsersMaxAgeHours", 24, 1, 8760),
        idle_stages_schedule=ugc.schedule("idleStagesSchedule", "rate(24 hours)"),
        idle_stages_max_age_minutes=ugc.integer("idleStagesMaxAgeMinutes", 60, 1, 10080),
        **_email(ugc, region),
        service=_service(ugc, region),
    )
    ugc.refuse_unknown()
    return settings


def _email(ugc: _Reader, region: str) -> dict:
    source = ugc.matching("emailSourceArn", _SES_IDENTITY, "an SES identity ARN", "arn:aws:ses:...")
    if source and _SES_IDENTITY.fullmatch(source)["region"] not in (region, *_SES_REGIONS):
        raise ugc.fail(
            "emailSourceArn",
            f"is an SES identity Cognito cannot use from {region}; use one in {region} or in "
            f"{', '.join(_SES_REGIONS)}",
            f"arn:aws:ses:{region}:...",
        )
    sender = ugc.text("emailFrom", example="'Streaming <no-reply@example.com>'")
    if sender and not source:
        raise ConfigError(
            "Stack setting ugc:emailFrom needs ugc:emailSourceArn, the SES identity that sends "
            "as it; set that too, or remove emailFrom."
        )
    return {"email_source_arn": source, "email_from": sender}


def _service(ugc: _Reader, region: str) -> ServiceSettings:
    zones = ugc.integer("availabilityZones", 2, 2, 6)
    cpu = ugc.choice("taskCpu", 256, tuple(FARGATE_MEMORY))
    min_tasks = ugc.integer("minTasks", 1, 1, 1000)
    max_tasks = ugc.integer("maxTasks", 30, 1, 1000)
    if min_tasks > max_tasks:
        raise ConfigError(
            f"Stack setting ugc:minTasks ({min_tasks}) is above ugc:maxTasks ({max_tasks}); "
            "lower minTasks or raise maxTasks with `pulumi config set`."
        )
    certificate = ugc.matching(
        "certificateArn", _CERTIFICATE, "an ACM certificate ARN", "arn:aws:acm:..."
    )
    if certificate and _CERTIFICATE.fullmatch(certificate)["region"] != region:
        raise ugc.fail(
            "certificateArn",
            f"is a certificate of another region than the stack's {region}; a load balancer "
            "takes only certificates of its own region",
            f"arn:aws:acm:{region}:...",
        )
    environment, secrets = _extra_environment(ugc), _secrets(ugc)
    both = sorted(set(environment) & set(secrets))
    if both:
        raise ConfigError(
            f"Stack settings ugc:apiEnvironment and ugc:apiSecrets both set {both[0]}; "
            "keep it in one of them."
        )
    return ServiceSettings(
        availability_zones=zones,
        nat_gateways=ugc.integer("natGateways", 1, 1, zones),
        certificate_arn=certificate,
        task_cpu=cpu,
        task_memory=ugc.choice("taskMemory", FARGATE_MEMORY[cpu][0], FARGATE_MEMORY[cpu]),
        **_image(ugc),
        allowed_origins=_origins(ugc),
        ivs_channel_type=ugc.word("ivsChannelType", "STANDARD", IVS_CHANNEL_TYPES),
        extra_environment=environment,
        secrets=secrets,
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
        "an image reference such as registry/repository:tag",
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
    try:
        has_dockerfile = folder is None or (folder / "Dockerfile").is_file()
    except OSError:
        has_dockerfile = False
    if not has_dockerfile:
        raise ConfigError(
            f"Stack setting ugc:apiBuildContext names {context[:100]!r}, which is not a folder "
            "with a Dockerfile; point it at the API's source folder."
        )
    return {"image": image, "build_context": folder}


def _origins(ugc: _Reader) -> tuple[str, ...]:
    path, example = "[0]", "https://app.example.com"
    problem = "must be a list of origins such as https://app.example.com"
    origins = ugc.structured("allowedOrigins", list, path, example, problem)
    if not all(isinstance(o, str) and _ORIGIN.fullmatch(o) for o in origins):
        raise ugc.structured_fail("allowedOrigins", path, example, problem)
    return tuple(origins)


def _string_map(ugc: _Reader, key: str, path: str, value: str) -> dict[str, str]:
    """A map setting; numbers and booleans `--path` stored as such become their text."""
    problem = "must map variable names to values"
    raw = ugc.structured(key, dict, path, value, problem)
    values = {}
    for name, item in raw.items():
        if not _VARIABLE.fullmatch(name) or isinstance(item, (dict, list)) or item is None:
            raise ugc.structured_fail(key, path, value, problem)
        values[name] = json.dumps(item) if isinstance(item, bool) else str(item)
    return values


def _extra_environment(ugc: _Reader) -> dict[str, str]:
    extra = _string_map(ugc, "apiEnvironment", ".LOG_LEVEL", "info")
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
    secrets = _string_map(ugc, "apiSecrets", ".PAGINATION_TOKEN_KEY", "arn:aws:secretsmanager:...")
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
