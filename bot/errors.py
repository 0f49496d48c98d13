"""Domain exceptions; handlers and the CLI map them to messages in one place."""


class ArtifactBotError(Exception):
    """Base class of every error the bot explains to a person."""


class ConfigError(ArtifactBotError):
    """Missing or invalid configuration (environment or YAML)."""


class InputError(ArtifactBotError):
    """Bad input from a person or a file; nothing was changed."""


class ImportFileError(InputError):
    """A bad row in an imported file; the whole file is rejected."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class PermissionDenied(ArtifactBotError):
    """The caller may not see or change this."""


class NotFound(ArtifactBotError):
    """A team, person or artifact that does not exist."""
