"""`set-password` and `token create|list|revoke` as a user runs them, and `export` asking a
running daemon with login on for its history with a token (docs/security.md)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from live_daemon import Daemon

from pi_dashboard.web.credentials import CredentialFile, verify_password

CONFIG = """
[server.auth]
enabled = true

[[sensors]]
id = "d"
type = "demo"
interval = 0.2
"""


def set_password(data: str, typed: str) -> subprocess.CompletedProcess[str]:
    """`pi-dashboard set-password` with the password on standard input (a script, not a tty)."""
    return subprocess.run(
        [sys.executable, "-m", "pi_dashboard", "set-password", "--data-dir", data],
        input=typed, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_set_password_and_tokens(cli, tmp_path: Path):
    data = str(tmp_path / "data")
    r = set_password(data, "short\n")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: the password must have at least 8 characters"
    r = set_password(data, "correct horse battery\n")
    assert r.returncode == 0, r.stderr
    f = CredentialFile(Path(data))
    stored = f.load().password
    assert stored is not None
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse battery", stored)
    assert "correct horse" not in f.path.read_text()
    assert stat.S_IMODE(os.stat(f.path).st_mode) == 0o600

    r = cli("token", "create", "prometheus", "--data-dir", data)
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("pid_")
    assert len(token) > 40
    assert "shown only now" in r.stderr
    assert token not in f.path.read_text()  # only its hash is kept
    again = cli("token", "create", "prometheus", "--data-dir", data)
    assert again.returncode == 1
    assert "exists" in again.stderr
    listed = cli("token", "list", "--data-dir", data)
    assert listed.stdout.startswith("prometheus\tcreated ")
    assert listed.stdout.rstrip().endswith("last used never")
    assert cli("token", "revoke", "prometheus", "--data-dir", data).returncode == 0
    gone = cli("token", "revoke", "prometheus", "--data-dir", data)
    assert gone.returncode == 1
    assert gone.stderr.strip() == 'error: no token named "prometheus"'


def test_export_from_a_daemon_with_login_needs_a_token(cli, tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    d = Daemon(config=config, tmp=tmp_path)
    token = CredentialFile(d.data_dir).create_token("backups")
    d.start()
    try:
        args = ("export", "--mock", "--data-dir", str(d.data_dir), "--url", d.url)
        r = cli(*args, env={**os.environ, "PI_DASHBOARD_TOKEN": ""})
        assert r.returncode == 1
        assert "login required" in r.stderr
        assert "pass --token or set PI_DASHBOARD_TOKEN" in r.stderr
        r = cli(*args, env={**os.environ, "PI_DASHBOARD_TOKEN": token})
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("time,epoch_s,")
        r = cli(*args, "--token", token)
        assert r.returncode == 0, r.stderr
    finally:
        d.kill()
    used = json.loads((d.data_dir / "auth-used.json").read_text())
    assert set(used) == {"backups"}  # written when the daemon stopped


def test_check_config_loads_the_certificate(cli, tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[server.tls]\ncert_file = "{tmp_path}/cert.pem"\nkey_file = "{tmp_path}/key.pem"\n'
    )
    for command in (("check-config", str(config)), ("run", "--config", str(config))):
        r = cli(*command)
        assert r.returncode == 2
        assert r.stderr.strip() == (
            f"config error: {config}: server.tls.cert_file: no such file: {tmp_path}/cert.pem"
        )
