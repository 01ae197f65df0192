"""Whether the embedded server's disk has room for a clone, asked before the server copies.

A clone writes `copied_bytes` of the session's artifacts to the server's disk (see
`clone_cost`); a disk that fills up midway fails the clone and can leave a partial copy the
server never deletes. On the embedded server the free space is known here; a remote server's
is not, and a clone that does not fit fails there as the server decides.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from sparkpush.errors import ServerDiskFullError
from sparkpush.remote.target import Target
from sparkpush.sync.clone_cost import copied_bytes

ROOM_TO_SPARE = 1 << 30
"""Left free after a clone: the server's logs, shuffle files and the other sessions' copies."""
GB = 1 << 30
MB = 1 << 20


def check_room_for_clone(target: Target, sizes: Mapping[str, int]) -> None:
    """ServerDiskFullError when the embedded server's disk cannot take a clone of a session
    holding `name -> size`; nothing is checked for another server."""
    if target.embedded is None or target.embedded.scratch is None:
        return
    needed = copied_bytes(sizes)
    scratch = Path(target.embedded.scratch)
    try:
        free = shutil.disk_usage(scratch).free
    except OSError:
        return  # the server's folder is gone: the clone call will say what is wrong
    if free < needed + ROOM_TO_SPARE:
        raise ServerDiskFullError(
            f"the embedded server's disk ({scratch}) has {_amount(free)} free; a clone of "
            f"this session copies {_amount(needed)} and {_amount(ROOM_TO_SPARE)} must stay "
            "free: free some disk, or keep big data out of the project's artifacts"
        )


def _amount(size: int) -> str:
    return f"{size / GB:.1f} GB" if size >= GB else f"{size / MB:.0f} MB"
