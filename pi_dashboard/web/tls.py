"""HTTPS from `[server.tls]`: one SSLContext for the daemon's life, its certificate re-read on
SIGHUP (a renewed Let's Encrypt or step-ca certificate without a restart). `load_cert_chain` on
the live context applies to every connection made after it; open ones keep their session."""

from __future__ import annotations

import logging
import os
import ssl

from pi_dashboard.config import HttpsConfig
from pi_dashboard.errors import ConfigError

log = logging.getLogger(__name__)


def server_context(cfg: HttpsConfig, source: str = "") -> ssl.SSLContext:
    """TLS 1.2 and up, Python's default ciphers; ConfigError naming the key (in the config file
    `source`) if a file cannot load."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        load(ctx, cfg)
    except ConfigError as e:
        e.file = source
        raise
    return ctx


def load(ctx: ssl.SSLContext, cfg: HttpsConfig) -> None:
    for field in ("cert_file", "key_file"):
        path = getattr(cfg, field)
        if not os.path.isfile(path):
            raise ConfigError(f"no such file: {path}", field=f"server.tls.{field}")
    try:
        ctx.load_cert_chain(cfg.cert_file, cfg.key_file)
    except PermissionError as e:
        raise ConfigError(f"permission denied: {e.filename}", field="server.tls.key_file") from None
    except (ssl.SSLError, OSError):
        raise ConfigError(
            f"cannot load {cfg.cert_file} with {cfg.key_file}: are both PEM files, and the key "
            "the certificate's?",
            field="server.tls.cert_file",
        ) from None


def reload(ctx: ssl.SSLContext, cfg: HttpsConfig) -> bool:
    """SIGHUP: re-read the files; on failure keep serving the previous certificate."""
    try:
        load(ctx, cfg)
    except ConfigError as e:
        log.warning("certificate not reloaded, keeping the previous one: %s", e)
        return False
    log.info("certificate reloaded from %s", cfg.cert_file)
    return True
