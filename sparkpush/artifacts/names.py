"""The artifact names and archive aliases we refuse to send, and why.

The server takes a name as a relative path under the session's folder: it turns `\\` into
`/`, resolves `.` and `..`, and writes each segment as a file or folder name (255 bytes at
most). An archive's alias (`archives/env.tar.gz#ALIAS`) becomes a URI fragment that the
executors percent-decode before unpacking into that folder, so `%2e%2e%2f` is `../`.
We refuse anything the server would read differently from what we sent.
"""

from __future__ import annotations

from sparkpush.errors import UsageError

MAX_SEGMENT_BYTES = 255
"""A file or folder name on the server's file system (NAME_MAX)."""

_SHOWN_CHARS = 60


def check_artifact_name(name: str) -> None:
    """A UsageError unless the server will store `name` under exactly that relative path."""
    if _plainly_fine(name):
        return
    shown = _shown(name)
    if "\\" in name:
        raise UsageError(f"{shown}: '\\' in an artifact name (the server reads it as '/'); rename")
    if "\x00" in name:
        raise UsageError(f"{shown}: NUL character in an artifact name")
    for segment in name.split("/"):
        if segment in ("", ".", ".."):
            raise UsageError(f"{shown}: empty, '.' or '..' part in an artifact name")
        if len(segment.encode()) > MAX_SEGMENT_BYTES:
            raise UsageError(
                f"{shown}: a file or folder name longer than {MAX_SEGMENT_BYTES} bytes; rename it"
            )


def _plainly_fine(name: str) -> bool:
    # The common case, checked with substring tests only: a no-op sync checks 10,000 names.
    return (
        "/." not in name
        and "//" not in name
        and "\\" not in name
        and "\x00" not in name
        and name[:1] not in ("/", ".")
        and name[-1:] != "/"
        and (len(name) <= MAX_SEGMENT_BYTES // 4 or len(name.encode()) <= MAX_SEGMENT_BYTES)
    )


def check_archive_alias(alias: str) -> None:
    """A UsageError unless `alias` is one plain folder name, also once percent-decoded."""
    shown = _shown(alias)
    if not alias:
        raise UsageError("empty alias after '#'")
    if any(char in alias for char in "/\\%#\x00") or alias in (".", ".."):
        raise UsageError(
            f"alias {shown!r} must be a plain folder name (no '/', '\\', '%', '#' or '..')"
        )
    if len(alias.encode()) > MAX_SEGMENT_BYTES:
        raise UsageError(f"alias {shown!r} is longer than {MAX_SEGMENT_BYTES} bytes")


def check_archive_file_name(file_name: str) -> None:
    """The server splits an archive's name at '#': a file name must not hold one."""
    if "#" in file_name:
        raise UsageError(f"{_shown(file_name)}: '#' in an archive's file name; rename it")


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}..."
