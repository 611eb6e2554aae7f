"""Typed readers for settings from the environment; they fail loudly on bad values."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting in the environment is missing or malformed."""


def envstr(name: str, default: str) -> str:
    """Return the variable, or the default when unset or empty."""
    return os.environ.get(name) or default


def envbool(name: str, default: bool) -> bool:
    """Parse a yes/no variable; anything unrecognised is an error, not a silent False."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def envint(name: str, default: int) -> int:
    """Parse an integer variable."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from None


def envlist(name: str, default: list[str]) -> list[str]:
    """Parse a comma-separated list."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envsecret(name: str, default: str | None) -> str:
    """Read a secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc}") from None
    value = os.environ.get(name)
    if value:
        return value
    if default is None:
        raise ConfigError(f"{name} must be set in production")
    return default


def envkeyring(name: str, single: str, default: dict[str, str] | None) -> dict[str, str]:
    """Read named secrets, oldest first: NAME (or NAME_FILE) holds `id=secret` entries separated by
    commas or new lines; SINGLE (or SINGLE_FILE) is one secret, named by SINGLE_ID (default "1").
    The last entry is the one in use; the earlier ones remain valid for checking old signatures."""
    raw = envsecret(name, "")
    keys: dict[str, str] = {}
    for entry in raw.replace("\n", ",").split(","):
        if not entry.strip():
            continue
        key_id, sep, secret = entry.strip().partition("=")
        if not sep or not key_id.strip() or not secret.strip():
            raise ConfigError(f"{name}: expected id=secret entries, got {entry.strip()[:12]!r}…")
        keys[key_id.strip()] = secret.strip()
    one = envsecret(single, "")
    if one:
        keys[envstr(f"{single}_ID", "1")] = one
    if not keys:
        if default is None:
            raise ConfigError(f"{single} or {name} must be set in production")
        return dict(default)
    for key_id, secret in keys.items():
        if not key_id.replace("-", "").replace("_", "").replace(".", "").isalnum() or len(key_id) > 16:
            raise ConfigError(f"{name}: key id {key_id!r} must be 1-16 letters, digits, '-', '_' or '.'")
        if len(secret) < 32:
            raise ConfigError(f"{name}: the secret of key {key_id!r} is shorter than 32 characters")
    return keys
