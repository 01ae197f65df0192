"""Whether a loopback port is served by a Spark JVM on this machine (not a tunnel or a proxy).

A loopback address alone proves nothing about the filesystem the server sees: `ssh -L`,
`kubectl port-forward` or a container's published port all listen on 127.0.0.1 too. The
port's listening socket is looked up in /proc and its owner must be a Java process running
Spark with our root directory (not in a container). Only processes whose file descriptors we
may read (our own, or any as root) count.
"""

from __future__ import annotations

import os
from pathlib import Path

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
_LISTEN = "0A"
_SPARK_MARKER = "org.apache.spark."


def is_local_spark_server(host: str, port: int) -> bool:
    """True when `host:port` is loopback and a Spark JVM of this machine listens on it."""
    if host.lower() not in LOOPBACK_HOSTS:
        return False
    inodes = _listening_inodes(port)
    return bool(inodes) and any(_is_spark_jvm(pid) for pid in _socket_owners(inodes))


def _listening_inodes(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                found.add(inode)
    return found


def _socket_owners(inodes: set[str]) -> list[int]:
    targets = {f"socket:[{inode}]" for inode in inodes}
    owners = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            descriptors = os.listdir(f"/proc/{entry.name}/fd")
        except OSError:
            continue
        for fd in descriptors:
            try:
                if os.readlink(f"/proc/{entry.name}/fd/{fd}") in targets:
                    owners.append(int(entry.name))
                    break
            except OSError:
                continue
    return owners


def _is_spark_jvm(pid: int) -> bool:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return (
        bool(args)
        and Path(args[0]).name == "java"
        and any(_SPARK_MARKER in arg for arg in args)
        and _sees_our_files(pid)
    )


def _sees_our_files(pid: int) -> bool:
    """Same root directory as ours: not a JVM in a container with host networking."""
    try:
        theirs, ours = os.stat(f"/proc/{pid}/root"), os.stat("/")
    except OSError:
        return False
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)
