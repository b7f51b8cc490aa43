"""Errors that carry the exact text (and exit code) a docker-machine user expects to see."""


class MachineError(Exception):
    """An error shown to the user as one line on stderr; exit_code follows docker-machine."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class MachineNotFound(MachineError):
    def __init__(self, name: str, prog: str = "machine-tui"):
        super().__init__(
            f'Docker machine "{name}" does not exist. Use "{prog} ls" to list machines. '
            f'Use "{prog} create" to add a new one.'
        )
        self.name = name


class MachineExists(MachineError):
    def __init__(self, name: str):
        super().__init__(f'Docker machine "{name}" already exists')


class HostNotRunning(MachineError):
    def __init__(self):
        super().__init__("Host is not running")


class PreCreateError(MachineError):
    exit_code = 3


class NotSupported(MachineError):
    pass
