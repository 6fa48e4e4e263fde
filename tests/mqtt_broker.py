"""A real Mosquitto broker (Debian's `mosquitto`; .ci/run installs it) for the MQTT tests: started
on a free loopback port with a config file in tmp, stopped by its PID, restartable on the same port.

Without the binary the tests skip and say why, unless PI_DASHBOARD_REQUIRE_MQTT=1 (CI), where a
missing broker is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from waiting import wait_until

MOSQUITTO = (
    os.environ.get("PI_DASHBOARD_MOSQUITTO") or shutil.which("mosquitto") or ("/usr/sbin/mosquitto")
)
REQUIRE = os.environ.get("PI_DASHBOARD_REQUIRE_MQTT") == "1"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Broker:
    tmp: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def toml(self, **extra: object) -> str:
        """An `[mqtt]` table pointing at this broker (plus `extra` keys)."""
        lines = ["[mqtt]", f'host = "{self.host}"', f"port = {self.port}"]
        for k, v in extra.items():
            if isinstance(v, str):
                lines.append(f'{k} = "{v}"')
            elif isinstance(v, bool):
                lines.append(f"{k} = {'true' if v else 'false'}")
            elif isinstance(v, list | tuple):
                lines.append(f"{k} = [{', '.join(repr(x).replace(chr(39), chr(34)) for x in v)}]")
            else:
                lines.append(f"{k} = {v}")
        return "\n".join(lines) + "\n"

    def start(self) -> Broker:
        conf = self.tmp / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "log_dest none\n",
            encoding="utf-8",
        )
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def listening() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"mosquitto exited (port {self.port})")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
            except OSError:
                return False
            return True

        try:
            wait_until(listening, START_TIMEOUT_S, what=f"mosquitto on port {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """By PID: SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(3)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        if REQUIRE:
            pytest.fail(f"PI_DASHBOARD_REQUIRE_MQTT=1 but there is no {MOSQUITTO}")
        pytest.skip(f"no mosquitto at {MOSQUITTO} (apt install mosquitto)")
    b = Broker(tmp_path).start()
    yield b
    b.stop()
