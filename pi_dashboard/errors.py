"""The exceptions pi-dashboard raises on purpose; anything else is a bug and gets a traceback."""

from __future__ import annotations


class PiDashboardError(Exception):
    """Base of every expected failure: the CLI turns these into one line, never a traceback."""


class ConfigError(PiDashboardError, ValueError):
    """A config problem; `field` is the path a user finds in their file (`sensors[2].interval`)."""

    def __init__(self, message: str, *, field: str = "", file: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.file = file

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class FieldError(ValueError):
    """Raised by an options dataclass's `__post_init__`; the loader adds the path in front."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class SensorError(PiDashboardError):
    """A read with no trustworthy value: shown as the sensor's `error`, never as a number."""


class BusError(SensorError, OSError):
    """The bus itself failed (NACK, timeout, missing /dev/i2c-N)."""


class ChipError(SensorError):
    """The chip answered but what it said cannot be trusted (wrong id, CRC mismatch, not ready)."""
