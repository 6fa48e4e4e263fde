"""HTTPS from `[server.tls]`: one daemon (the real process) with a self-signed certificate made
here, login on; the JavaScript socket.io-client connects over TLS with a token, the session
cookie is Secure, and SIGHUP swaps the certificate without a restart."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from live_daemon import Daemon
from waiting import wait_until

from pi_dashboard.web.credentials import CredentialFile

ROOT = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("js") / "live_client.mjs"


def self_signed(cert: Path, key: Path, name: str) -> bytes:
    """A certificate for 127.0.0.1 and localhost, signed by its own key; its DER bytes."""
    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    return built.public_bytes(serialization.Encoding.DER)


def served_certificate(port: int) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def request(daemon: Daemon, path: str, **kwargs) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(daemon.url + path, **kwargs)
    try:
        with urllib.request.urlopen(req, timeout=5, context=daemon.context()) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture
def https_daemon(tmp_path: Path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    first = self_signed(cert, key, "first")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[server]\n[server.tls]\ncert_file = "{cert}"\nkey_file = "{key}"\n'
        "[server.auth]\nenabled = true\n"
        '[[sensors]]\nid = "moving"\ntype = "demo"\ninterval = 0.1\n',
        encoding="utf-8",
    )
    daemon = Daemon(config=config, tmp=tmp_path, ca_file=cert)
    creds = CredentialFile(daemon.data_dir)
    creds.set_password("correct horse battery")
    token = creds.create_token("js")
    try:
        yield daemon.start(), token, first
    finally:
        daemon.kill()


def test_https_daemon_with_the_js_client(https_daemon, tmp_path):
    daemon, token, first = https_daemon
    assert daemon.scheme == "https"
    assert served_certificate(daemon.port) == first
    status, _, body = request(daemon, "/api/sensors")
    assert status == 401, body
    status, _, body = request(daemon, "/api/sensors", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert json.loads(body)[0]["id"] == "moving"

    status, headers, _ = request(
        daemon, "/auth/login", method="POST", data=b'{"password": "correct horse battery"}',
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert status == 200
    cookie = headers["Set-Cookie"]
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict"):
        assert attribute in cookie

    if shutil.which("node") is None or not (ROOT / "node_modules/socket.io-client").is_dir():
        pytest.skip("needs node and `npm ci` (make test runs it)")
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(daemon.ca_file), "PI_DASHBOARD_TOKEN": token}
    env.pop("NODE_TLS_REJECT_UNAUTHORIZED", None)  # the certificate is checked, not ignored
    proc = subprocess.run(
        ["node", str(CLIENT), daemon.url, "polling,websocket", "3", "moving"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["transport"] == "websocket"
    assert got["events"][0][0] == "snapshot"
    assert sum(1 for kind, _ in got["events"] if kind == "reading") >= 3

    env.pop("PI_DASHBOARD_TOKEN")
    proc = subprocess.run(
        ["node", str(CLIENT), daemon.url, "websocket", "1"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "connect_error: login required" in proc.stderr


def test_sighup_reloads_the_certificate(https_daemon, tmp_path):
    daemon, _, first = https_daemon
    assert served_certificate(daemon.port) == first
    second = self_signed(tmp_path / "cert.pem", tmp_path / "key.pem", "second")
    daemon.signal(signal.SIGHUP)
    wait_until(lambda: served_certificate(daemon.port) == second, what="the new certificate")
    assert any("certificate reloaded" in line for line in daemon.log)
    assert daemon.proc is not None
    assert daemon.proc.poll() is None  # the same process, still serving


def test_sighup_without_tls_does_not_stop_the_daemon(start_daemon):
    daemon = start_daemon('[[sensors]]\nid = "d"\ntype = "demo"\ninterval = 0.2\n')
    daemon.signal(signal.SIGHUP)
    wait_until(lambda: any("SIGHUP: nothing to reload" in line for line in daemon.log))
    assert daemon.health()["status"] == "ok"
