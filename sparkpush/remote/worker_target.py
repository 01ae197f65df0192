"""`WorkerTarget`: what the server's Python workers run, so wheels can be chosen for them, and
how their Python version is read from the error a mismatched worker raises.

`worker_facts` runs on a worker (inside the probe UDF, see `worker_probe`): this module travels
there by value, so it imports nothing of ours.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

_MISMATCH = re.compile(r"Python in worker has different version:?\s*\(?\s*(\d+)[.,]\s*(\d+)")
"""PySpark's PYTHON_VERSION_MISMATCH: `...different version: 3.10 than...` or `(3, 10)`."""
OLDEST_MANYLINUX_MINOR = 17
"""manylinux2014 (glibc 2.17): the oldest tag a current wheel is built for."""


@dataclass(frozen=True)
class WorkerTarget:
    """The facts a probe UDF reads on a worker (see `worker_facts`)."""

    python: str
    """`3.11`"""
    implementation: str
    """`cp` for CPython"""
    abi: str
    """`cp311`"""
    system: str
    """`linux`, `darwin`, `win32`"""
    machine: str
    """`x86_64`, `aarch64`, `arm64`"""
    platform: str
    """`sysconfig.get_platform()` as a wheel tag: `linux_x86_64`, `macosx_11_0_arm64`"""
    glibc: str | None
    """`2.36`, or None off glibc"""
    executable: str
    """The workers' own interpreter, which the environment's launcher runs."""
    provided: Mapping[str, str] = field(default_factory=dict)
    """Versions of the packages the workers' pyspark needs (and what those need), as
    installed there: the environment never shadows them."""

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "provided": dict(sorted(self.provided.items()))}

    @classmethod
    def from_json(cls, data: Any) -> WorkerTarget:
        """Raises RecordError (a ValueError) on a form this version does not know."""
        # here, not at the top: this module travels to the workers, which lack sparkpush
        from sparkpush.state.records import record_from_json

        return record_from_json(cls, data, what="worker target")

    def describe(self) -> str:
        libc = f", glibc {self.glibc}" if self.glibc else ""
        return f"Python {self.python} ({self.abi}) on {self.platform}{libc}"

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """The wheel platform tags a worker accepts, most specific first."""
        if self.system == "linux" and self.glibc:
            major, _, minor = self.glibc.partition(".")
            if major == "2" and minor.isdigit():
                newest = int(minor)
                tags = [
                    f"manylinux_2_{m}_{self.machine}"
                    for m in range(newest, OLDEST_MANYLINUX_MINOR - 1, -1)
                ]
                return (*tags, f"manylinux2014_{self.machine}", self.platform)
        return (self.platform,)

    def key_text(self) -> str:
        """What decides which wheels fit: the same text means the same environment."""
        facts = self.as_json()
        return json.dumps(facts, sort_keys=True)


PROTECTED = (
    "pyspark",
    "py4j",
    "pyspark-connect",
    "pyspark-client",
    "pandas",
    "numpy",
    "pyarrow",
    "grpcio",
    "grpcio-status",
    "googleapis-common-protos",
    "protobuf",
    "zstandard",
)
"""Packages the workers' pyspark runs on: the environment never shadows them."""


def worker_facts() -> dict[str, Any]:
    """The facts of the interpreter this runs in (called inside a UDF on a worker)."""
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else None
    try:
        glibc = libc.split()[1] if libc and libc.startswith("glibc ") else None
    except (IndexError, ValueError):
        glibc = None
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    implementation = {"cpython": "cp", "pypy": "pp"}.get(sys.implementation.name, "py")
    return {
        "python": version,
        "implementation": implementation,
        "abi": f"{implementation}{sys.version_info[0]}{sys.version_info[1]}{sys.abiflags}",
        "system": sys.platform if sys.platform != "linux2" else "linux",
        "machine": platform.machine(),
        "platform": sysconfig.get_platform().replace("-", "_").replace(".", "_"),
        "glibc": glibc,
        "executable": sys.executable,
        "provided": provided_packages(),
    }


def provided_packages() -> dict[str, str]:
    """PROTECTED and everything they need, as installed here: normalised name -> version."""
    from importlib import metadata

    provided: dict[str, str] = {}
    pending = list(PROTECTED)
    while pending:
        name = normalised_name(pending.pop())
        if name in provided:
            continue
        try:
            found = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        provided[name] = found.version
        for requirement in found.requires or []:
            if re.search(r"\bextra\s*==", requirement):
                continue  # an optional extra: only what PROTECTED names itself
            head = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
            if head:
                pending.append(head.group(0))
    return provided


def normalised_name(name: str) -> str:
    """PEP 503: `Python_Dateutil` and `python-dateutil` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def local_target() -> WorkerTarget:
    """The interpreter running sparkpush, as a worker target."""
    return WorkerTarget.from_json(worker_facts())


def same_platform(worker_target: WorkerTarget, here: WorkerTarget) -> bool:
    """Whether wheels pip picks for this interpreter also fit the worker target."""
    return (
        worker_target.abi == here.abi
        and worker_target.system == here.system
        and worker_target.machine == here.machine
        and worker_target.glibc == here.glibc
    )


def worker_python_from_error(message: str) -> str | None:
    """The workers' Python (`3.10`) named in a PYTHON_VERSION_MISMATCH error, if it is one."""
    found = _MISMATCH.search(message)
    return f"{found.group(1)}.{found.group(2)}" if found else None
