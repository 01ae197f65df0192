"""What a CloneSession costs the server, told from the sizes of the session's artifacts.

The server copies the session's whole artifact folder into the clone, then registers the
clone's files, pyfiles and archives with its SparkContext again, which copies each of them
once more into the driver's files folder (an archive is also unpacked there); jars are not
copied at that point (an executor fetches its own copy at the clone's first task). So a clone
takes time, and disk, in proportion to these bytes: on 2 busy cores 1 GB of jars took up to
6.2 s to clone, 1 GB of files up to 14.5 s, 2-3 GB of files 14-35 s (`benchmarks/layers.py
--clone-sizes --clone-kinds`). A clone's deadline follows them, with a wide margin: the call
is cut only when the server has stopped copying, not because the base is big.
"""

from __future__ import annotations

from collections.abc import Mapping

from sparkpush.artifacts.artifact_kind import ArtifactKind

CLONE_FLOOR_S = 10.0
"""The deadline of a clone of a session with (nearly) nothing in it, as any control call."""
SLOWEST_COPY_BYTES_PER_S = 32 * 1024 * 1024
"""The slowest copy a live server is allowed: a quarter of the slowest measured (141 MB/s)."""
BIG_CLONE_BYTES = 1 << 30
"""From here on a clone costs the server seconds: the sync says so, once per base."""
_GB = 1 << 30

_WRITES = {ArtifactKind.FILE: 2, ArtifactKind.PYFILE: 2, ArtifactKind.ARCHIVE: 3}
"""How many times the server writes an artifact's bytes to clone it (by default once)."""


def copied_bytes(sizes: Mapping[str, int]) -> int:
    """The bytes the server writes to clone a session holding artifacts `name -> size`."""
    return sum(size * _writes(name) for name, size in sizes.items())


def clone_deadline(sizes: Mapping[str, int]) -> float:
    """How long a CloneSession of a session holding `name -> size` may take."""
    return CLONE_FLOOR_S + copied_bytes(sizes) / SLOWEST_COPY_BYTES_PER_S


def big_base_note(sizes: Mapping[str, int]) -> str | None:
    """One line for a new base that costs every code change a large copy; None below that."""
    copied = copied_bytes(sizes)
    if copied < BIG_CLONE_BYTES:
        return None
    return (
        f"the base layer holds {sum(sizes.values()) / _GB:.1f} GB: each code change makes the "
        f"server copy {copied / _GB:.1f} GB into the new generation's clone (seconds, and as "
        "much of its disk while the generation lives); data a job reads is better kept in "
        "storage than sent as artifacts"
    )


def _writes(name: str) -> int:
    try:
        kind = ArtifactKind.of_name(name)
    except ValueError:
        return 1  # not a name we send
    return _WRITES.get(kind, 1)
