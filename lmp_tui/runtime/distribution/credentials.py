"""Registry credentials: ``lmp login``'s own store, then Docker's ``config.json``.

Our store uses Docker's layout (``{"auths": {"host:port": {"auth": base64("user:pass")}}}``) so a
user recognises it, but lives in lmp's config dir with 0600 permissions: we never write Docker's file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import config_dir
from ..errors import LmpError

# Docker keeps Docker Hub credentials under its v1 index URL, not under "docker.io".
_DOCKER_HUB_KEYS = ("docker.io", "registry-1.docker.io", "index.docker.io")
_DOCKER_HUB_LEGACY = "https://index.docker.io/v1/"


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a password by accident
        return f"Credentials(username={self.username!r}, password=***)"


def store_path() -> Path:
    return config_dir() / "credentials.json"


def registry_key(registry: str) -> str:
    """``https://Host:5000/v2/`` and ``host:5000`` name the same registry."""
    key = registry.strip()
    for scheme in ("https://", "http://"):
        if key.lower().startswith(scheme):
            key = key[len(scheme) :]
    key = key.split("/", 1)[0].lower()
    return "docker.io" if key in _DOCKER_HUB_KEYS else key


def lookup(registry: str) -> Credentials | None:
    """Credentials for ``registry``: ours first, then ``~/.docker/config.json``, else None."""
    key = registry_key(registry)
    for auths in (_auths(store_path(), strict=True), _auths(_docker_config_path(), strict=False)):
        for name, entry in auths.items():
            if _matches(name, key) and (creds := _decode(entry)) is not None:
                return creds
    return None


def save(registry: str, creds: Credentials) -> Path:
    path = store_path()
    auths = _auths(path, strict=True)
    token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
    auths[registry_key(registry)] = {"auth": token}
    _write_private(path, {"auths": auths})
    return path


def remove(registry: str) -> bool:
    """Forget ``registry``; False if we had nothing stored for it."""
    path = store_path()
    auths = _auths(path, strict=True)
    if auths.pop(registry_key(registry), None) is None:
        return False
    _write_private(path, {"auths": auths})
    return True


def in_docker_config(registry: str) -> bool:
    key = registry_key(registry)
    return any(_matches(n, key) for n in _auths(_docker_config_path(), strict=False))


def _docker_config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG")
    return (Path(base) if base else Path.home() / ".docker") / "config.json"


def _matches(name: str, key: str) -> bool:
    if key == "docker.io" and name == _DOCKER_HUB_LEGACY:
        return True
    return registry_key(name) == key


def _auths(path: Path, *, strict: bool) -> dict[str, Any]:
    """The ``auths`` map of a config file; a broken Docker file is ignored, a broken one of ours
    is reported (we wrote it, so the user should know it is damaged)."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        if strict:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise LmpError(f"{path}: unreadable credentials file ({reason}); delete it") from None
        return {}
    auths = doc.get("auths") if isinstance(doc, dict) else None
    return dict(auths) if isinstance(auths, dict) else {}


def _decode(entry: Any) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credentials(entry["username"], entry["password"])
    try:
        text = base64.b64decode(entry.get("auth", ""), validate=True).decode()
    except (binascii.Error, ValueError, TypeError):
        return None
    user, sep, password = text.partition(":")
    return Credentials(user, password) if sep else None


def _write_private(path: Path, doc: dict[str, Any]) -> None:
    """Write atomically; the file is created 0600 so the secret is never readable by others, not
    even for the moment between create and chmod."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o600)  # in case a umask or ACL widened it
    os.replace(tmp, path)
