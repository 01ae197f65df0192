"""What an embedded server holds at a moment: disk, memory, processes, sessions.

Shared by the soak benchmark (`benchmarks/soak.py`) and the concurrency test
(`tests/integration/test_long_day.py`). Read from /proc and the server's own log, never asked
of the server (an RPC would create a session of its own).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from sparkpush.server.process_group import all_processes, read_process

_ACCESSED = re.compile(r"Session with userId: \S+ and sessionId: ([0-9a-f-]{36}) accessed")
_CLOSED = re.compile(r"Closing session with userId: \S+ and sessionId: ([0-9a-f-]{36})")
_DELETED = " (deleted)"


@dataclass(frozen=True)
class ServerReading:
    scratch_bytes: int
    """Bytes of the files under the server's scratch folder."""
    held_deleted_bytes: int
    """Bytes of deleted files the server's processes still hold open (still on disk)."""
    jvm_rss: int
    python_processes: int
    """Python workers and worker daemons of the server (its process session)."""
    live_sessions: int
    """Sessions the server's log shows accessed and not closed."""
    accessed_sessions: int
    """Sessions the server's log shows accessed, closed since or not."""

    @property
    def disk_bytes(self) -> int:
        return self.scratch_bytes + self.held_deleted_bytes

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "disk_bytes": self.disk_bytes}


def read_server(pid: int, scratch: Path, log: Path) -> ServerReading:
    accessed, closed = sessions_in(log)
    return ServerReading(
        scratch_bytes=tree_bytes(scratch),
        held_deleted_bytes=held_deleted_bytes(_session_pids(pid)),
        jvm_rss=rss_bytes(pid),
        python_processes=python_processes(pid),
        live_sessions=len(accessed - closed),
        accessed_sessions=len(accessed),
    )


def tree_bytes(folder: Path) -> int:
    total = 0
    for current, _dirs, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(current, name)).st_size
            except OSError:
                continue  # deleted meanwhile
    return total


def held_deleted_bytes(pids: list[int]) -> int:
    """Deleted files the processes hold open: their blocks stay on disk until closed."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for pid in pids:
        fd_folder = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_folder)
        except OSError:
            continue
        for fd in fds:
            path = os.path.join(fd_folder, fd)
            try:
                if not os.readlink(path).endswith(_DELETED):
                    continue
                info = os.stat(path)
            except OSError:
                continue
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_size
    return total


def rss_bytes(pid: int) -> int:
    """Resident memory of `pid` (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def python_processes(server_pid: int) -> int:
    server = read_process(server_pid)
    if server is None:
        return 0
    return sum(
        1
        for process in all_processes()
        if process.session == server.session
        and process.args
        and "python" in os.path.basename(process.args[0])
    )


def sessions_in(log: Path, offset: int = 0) -> tuple[set[str], set[str]]:
    """The sessions the server's log shows accessed (created or touched), and those it shows
    closed (released), from byte `offset` on, in one read."""
    with log.open("rb") as stream:
        stream.seek(offset)
        text = stream.read().decode("utf-8", "replace")
    return set(_ACCESSED.findall(text)), set(_CLOSED.findall(text))


_HEAP = re.compile(r"heap\s+total (\d+)K, used (\d+)K")
_METASPACE = re.compile(r"Metaspace\s+used (\d+)K, committed (\d+)K")


def jvm_memory(pid: int) -> dict[str, int]:
    """The JVM's heap (committed, used) and metaspace (used), from `jcmd GC.heap_info`;
    empty when jcmd is missing or the JVM does not answer."""
    jcmd = shutil.which("jcmd")
    if jcmd is None:
        return {}
    try:
        text = subprocess.run(
            [jcmd, str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    heap, metaspace = _HEAP.search(text), _METASPACE.search(text)
    found: dict[str, int] = {}
    if heap:
        found.update(heap_committed=int(heap[1]) * 1024, heap_used=int(heap[2]) * 1024)
    if metaspace:
        found["metaspace_used"] = int(metaspace[1]) * 1024
    return found


def _session_pids(server_pid: int) -> list[int]:
    server = read_process(server_pid)
    if server is None:
        return []
    return [p.pid for p in all_processes() if p.session == server.session]
