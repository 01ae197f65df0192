"""A warm spare clone of the generation, left by one test run for the next.

A clone is a new server session, and a new session starts its own Python worker on its first
Python UDF (1 to 7 s, the largest part of a short test run). So a run that ends normally
clones the generation once more, runs one Python UDF in that clone, and records it in
`<project>/.sparkpush/spare-clone.json` (0600); the next run takes it if it is a clone of the
very generation it holds (same session, same artifacts and UDF fingerprints), else releases
it. Taking is a rename, so of two runs only one gets it. An unclaimed spare is released by
the next run, or expires with the server's idle timeout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sparkpush.state.folders import state_dir
from sparkpush.state.private_files import read_json, write_private_json
from sparkpush.state.records import RecordError, record_from_json, record_to_json

SPARE_FILE = "spare-clone.json"


@dataclass(frozen=True)
class SpareClone:
    session_id: str
    server_side_session_id: str | None
    base_session_id: str
    """The generation's session it was cloned from."""
    digest: str
    """The generation's revision digest when it was cloned."""
    remote: str


def take_spare(project_root: Path) -> SpareClone | None:
    """The recorded spare, now this process's (the file is gone); None when there is none."""
    folder = state_dir(project_root)
    claimed = folder / f".{SPARE_FILE}.{os.getpid()}"
    try:
        os.rename(folder / SPARE_FILE, claimed)
    except FileNotFoundError:
        return None
    document = read_json(claimed)
    claimed.unlink(missing_ok=True)
    try:
        return record_from_json(SpareClone, document, what="spare clone record")
    except RecordError:  # a file of another sparkpush version
        return None


def keep_spare(project_root: Path, spare: SpareClone) -> bool:
    """Record `spare` for the next run; False when another run recorded one first."""
    folder = state_dir(project_root)
    pending = folder / f".{SPARE_FILE}.{os.getpid()}.new"
    write_private_json(pending, record_to_json(spare))
    try:
        os.link(pending, folder / SPARE_FILE)  # fails if one is there: never overwrite
        return True
    except FileExistsError:
        return False
    finally:
        pending.unlink(missing_ok=True)
