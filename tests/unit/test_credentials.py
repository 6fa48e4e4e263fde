"""auth.json: the scrypt hash, tokens stored hashed, and `[server.auth]`/`[server.tls]` errors."""

from __future__ import annotations

import pytest

from pi_dashboard.errors import ConfigError, PiDashboardError
from pi_dashboard.web.credentials import (
    CredentialFile,
    hash_password,
    hash_token,
    verify_password,
)


def test_password_hash_round_trip_and_salt():
    a = hash_password("correct horse battery")
    b = hash_password("correct horse battery")
    assert a != b  # a fresh salt each time
    assert verify_password("correct horse battery", a)
    assert not verify_password("correct horse batterY", a)
    for broken in ("", "scrypt$x", "bcrypt$1$2$3$4$5", a.replace("scrypt$16384", "scrypt$0")):
        assert not verify_password("correct horse battery", broken)


def test_tokens_are_stored_hashed_and_revoked_by_name(tmp_path):
    f = CredentialFile(tmp_path)
    one = f.create_token("prometheus", now=1.0)
    two = f.create_token("grafana", now=2.0)
    creds = f.load()
    assert creds.token_named(hash_token(one)) == "prometheus"
    assert creds.token_named(hash_token(two)) == "grafana"
    assert one not in f.path.read_text()
    f.revoke_token("prometheus")
    assert f.load().token_named(hash_token(one)) is None
    assert [t["name"] for t in f.describe()] == ["grafana"]
    with pytest.raises(PiDashboardError, match="not a token name"):
        f.create_token("has space")


def test_a_changed_file_is_noticed_by_its_stamp(tmp_path):
    f = CredentialFile(tmp_path)
    assert f.stamp() is None
    f.create_token("a")
    first = f.stamp()
    f.create_token("b")
    assert f.stamp() != first  # a new file (rename): a new inode, whatever the clock says


def test_a_broken_file_is_one_clear_error(tmp_path):
    f = CredentialFile(tmp_path)
    f.path.write_text("{not json")
    with pytest.raises(PiDashboardError, match=r"cannot read .*auth\.json"):
        f.load()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[server.auth]\ntrusted_networks = ["10.0.0.0/33"]',
         'server.auth.trusted_networks[0]: "10.0.0.0/33" is not an address or network'),
        ("[server.auth]\nsession_lifetime = 0", "server.auth.session_lifetime: must be > 0"),
        ("[server.auth]\nlogin_failures = 0", "server.auth.login_failures: must be between 1"),
        ("[server.auth]\npassword = 1", "server.auth.password: unknown key"),
        ('[server.tls]\ncert_file = "c.pem"', "server.tls.key_file: is required"),
        ('[server]\ncors_origins = ["grafana"]', "server.cors_origins[0]: \"grafana\" is not an"),
    ],
)  # fmt: skip
def test_config_errors_name_the_field(make_config, toml, message):
    with pytest.raises(ConfigError) as e:
        make_config(toml)
    assert message in str(e.value)


def test_a_certificate_that_does_not_load_is_a_config_error(make_config, tmp_path):
    from pi_dashboard.web.tls import server_context

    (tmp_path / "c.pem").write_text("not a certificate")
    config = make_config(
        f'[server.tls]\ncert_file = "{tmp_path}/c.pem"\nkey_file = "{tmp_path}/k.pem"'
    )
    assert config.server.tls is not None
    with pytest.raises(ConfigError, match=r"server.tls.key_file: no such file"):
        server_context(config.server.tls)
    (tmp_path / "k.pem").write_text("not a key")
    with pytest.raises(ConfigError, match=r"server.tls.cert_file: cannot load"):
        server_context(config.server.tls)
