"""Which project configs the user trusts to say where data and credentials go.

A repository's config is written by whoever wrote the repository. Its `remote`, `token_file`
and `ca_file` decide which host receives the project's files and which token goes with
them, so they take effect only once the user has run `connect trust` on that config, as
`direnv allow` and `mise trust` do. A record holds the config's path and a digest of those
keys' values (and of the CA bundle's bytes): a changed value asks again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from sparkpush.state.folders import user_config_dir
from sparkpush.state.private_files import read_json, write_private_json

CREDENTIAL_KEYS = ("remote", "token_file", "ca_file")
"""The keys that decide where data and credentials go."""
SOURCE_KEYS = ("pip_args", "repositories", "master")
"""The keys that decide where packages come from (`environment.pip_args`,
`packages.repositories`) and where the embedded server runs its jobs (`server.master`, when
not on this machine)."""

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def master_on_this_machine(master: str) -> bool:
    """`local`, `local[...]`, `local-cluster[...]` or a standalone master on loopback."""
    if master == "local" or master.startswith(("local[", "local-cluster[")):
        return True
    if master.startswith("spark://"):
        hosts = [each.rsplit(":", 1)[0] for each in master[len("spark://") :].split(",")]
        return all(host in _LOOPBACK_HOSTS for host in hosts)
    return False


RECORDS_FILE = "trusted.json"
RECORDS_VERSION = 1


class TrustState(Enum):
    TRUSTED = "trusted"
    NEW = "not trusted"
    CHANGED = "changed since it was trusted"


@dataclass(frozen=True)
class TrustRecord:
    config: str
    digest: str
    trusted_at: float


def credentials_digest(values: Mapping[str, str], ca_file: Path | None) -> str:
    """The digest of the credential keys' values as written, and of the CA bundle's bytes."""
    document = {key: values.get(key) for key in CREDENTIAL_KEYS}
    # only when set: records made before these keys existed stay valid
    document.update({key: values[key] for key in SOURCE_KEYS if key in values})
    document["ca_sha256"] = _file_digest(ca_file) if ca_file is not None else None
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def trust_state(config: Path, digest: str) -> TrustState:
    record = load_records().get(_key(config))
    if record is None:
        return TrustState.NEW
    return TrustState.TRUSTED if record.digest == digest else TrustState.CHANGED


def load_records() -> dict[str, TrustRecord]:
    """The user's trust records; none when the file is missing, broken or not the user's own."""
    path = user_config_dir() / RECORDS_FILE
    if not _private_to_user(path):
        return {}
    document = read_json(path)
    if not isinstance(document, dict) or document.get("version") != RECORDS_VERSION:
        return {}
    records: dict[str, TrustRecord] = {}
    configs = document.get("configs")
    for config, entry in (configs if isinstance(configs, dict) else {}).items():
        if isinstance(entry, dict) and isinstance(entry.get("digest"), str):
            when = entry.get("trusted_at")
            trusted_at = float(when) if isinstance(when, (int, float)) else 0.0
            records[config] = TrustRecord(config, entry["digest"], trusted_at)
    return records


def record_trust(config: Path, digest: str) -> None:
    records = load_records()
    records[_key(config)] = TrustRecord(_key(config), digest, time.time())
    _save(records)


def revoke_trust(config: Path) -> bool:
    """Forget `config`; False when it was not trusted."""
    records = load_records()
    if records.pop(_key(config), None) is None:
        return False
    _save(records)
    return True


def _key(config: Path) -> str:
    """A config is known by the real path of the folder it is found in, and its name: its
    relative paths (token_file, ca_file, artifacts) resolve there. A `pyproject.toml` that is
    a link to a trusted config in another folder is another config, trusted on its own."""
    return os.path.join(os.path.realpath(config.parent), config.name)


def _save(records: Mapping[str, TrustRecord]) -> None:
    configs = {
        r.config: {"digest": r.digest, "trusted_at": round(r.trusted_at, 3)}
        for r in records.values()
    }
    write_private_json(
        user_config_dir() / RECORDS_FILE, {"version": RECORDS_VERSION, "configs": configs}
    )


def _private_to_user(path: Path) -> bool:
    """Records another user could have written are not the user's word."""
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and info.st_mode & 0o022 == 0


def _file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
