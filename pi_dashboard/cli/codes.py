"""What every command shares: exit codes and where the service's config lives."""

from __future__ import annotations

import argparse
from typing import TypeAlias

EXIT_OK, EXIT_FAILURE, EXIT_CONFIG = 0, 1, 2
"""0 ok, 1 runtime failure, 2 config error (the unit's RestartPreventExitStatus)."""
SERVICE_CONFIG = "/etc/pi-dashboard/config.toml"
"""Where `install-service` puts the config the service runs with."""

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
"""Where each command module adds its parser (`add_parsers`), with `handler` as its default."""
