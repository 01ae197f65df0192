"""Fingerprints that decide whether a UDF changed since it was registered.

Two loads of the same code do not always pickle to the same bytes: pickle shares a string
by identity (whether `__file__` and `co_filename` are one object depends on whether the
module came from a .pyc) and cloudpickle tags classes pickled by value with a per-process
tracker id. The fingerprint therefore hashes a canonical form of the pickle: memo references
to plain values are written out, other memo references numbered in order, tracker ids blanked.
"""

from __future__ import annotations

import hashlib
import pickletools
from collections.abc import Iterable, Iterator

_VALUE_OPS = {
    "SHORT_BINUNICODE": "str",
    "BINUNICODE": "str",
    "BINUNICODE8": "str",
    "UNICODE": "str",
    "SHORT_BINBYTES": "bytes",
    "BINBYTES": "bytes",
    "BINBYTES8": "bytes",
    "BYTEARRAY8": "bytes",
    "SHORT_BINSTRING": "bytes",
    "BINSTRING": "bytes",
    "STRING": "bytes",
    "BININT": "int",
    "BININT1": "int",
    "BININT2": "int",
    "INT": "int",
    "LONG": "int",
    "LONG1": "int",
    "LONG4": "int",
    "BINFLOAT": "float",
    "FLOAT": "float",
    "NONE": "none",
    "NEWTRUE": "true",
    "NEWFALSE": "false",
}
_PUT_OPS = {"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}


def canonical_pickle(data: bytes, volatile: Iterable[str] = ()) -> Iterator[str]:
    """The pickle's opcodes, one line each, with identity sharing and volatile ids removed."""
    blank = set(volatile)
    memo: dict[int, str] = {}
    objects = 0
    previous: str | None = None
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        if name == "FRAME":
            continue
        if name in _PUT_OPS:
            key = len(memo) if name == "MEMOIZE" else int(arg)  # type: ignore[arg-type]
            if previous is not None:
                memo[key] = previous
            else:
                memo[key] = f"object {objects}"
                objects += 1
            continue
        if name in _GET_OPS:
            previous = None
            yield memo[int(arg)]  # type: ignore[arg-type]
            continue
        kind = _VALUE_OPS.get(name)
        if kind is None:
            previous = None
            yield name if arg is None else f"{name} {arg!r}"
            continue
        value = "-" if isinstance(arg, str) and arg in blank else arg
        previous = f"{kind} {value!r}"
        yield previous


def python_udf_fingerprint(
    pickled: bytes, return_type: str, eval_type: int, volatile: Iterable[str] = ()
) -> str:
    """sha256 of the pickled function (helpers embedded), its return type and eval type.

    `volatile` lists cloudpickle's tracker ids of classes pickled by value in this process.
    """
    digest = hashlib.sha256()
    for line in canonical_pickle(pickled, volatile):
        digest.update(line.encode() + b"\n")
    digest.update(b"\0" + return_type.encode() + b"\0" + str(eval_type).encode())
    return digest.hexdigest()


def java_udf_fingerprint(class_name: str, returns: str) -> str:
    """A Java UDF changes with its class or return type (class bytes force a new session)."""
    return hashlib.sha256(f"java\0{class_name}\0{returns}".encode()).hexdigest()
