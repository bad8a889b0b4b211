"""The errors the seeding CLI reports as one sentence and an exit code, never a traceback."""


class SeedingError(Exception):
    """Something outside the input stopped the run (AWS, the Pulumi CLI, the tables)."""

    exit_code = 1


class BadInput(SeedingError):
    """An argument, environment variable, outputs file or seed file the user must fix."""

    exit_code = 2
