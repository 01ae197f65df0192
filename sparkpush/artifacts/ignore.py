"""Which files and folders never become artifacts: built-in ignores, gitignore-style excludes."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar


@dataclass(frozen=True)
class _ExcludeRule:
    """One compiled gitignore-style line."""

    pattern: str
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool


class DefaultFilter:
    """Keeps a path unless a built-in rule or an exclude pattern ignores it.

    Call it with a path relative to the root the exclude patterns are anchored to:
    `keep(PurePosixPath("src/pkg/mod.py"), is_dir=False)` is True to keep.
    """

    ignore_dirs: ClassVar[tuple[str, ...]] = (
        "__pycache__",
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".idea",
        ".vscode",
        "node_modules",
        ".sparkpush",
        ".tox",
        ".nox",
        "*.egg-info",
    )
    """Folder names (fnmatch globs allowed) never walked into: VCS, caches, envs, our state."""

    ignore_entity_patterns: ClassVar[tuple[str, ...]] = (
        r"\.py[cod]$",  # compiled bytecode
        r"\.sw.$",  # vim swap files
        r"~$",  # editor backups
        r"^\.#",  # emacs lock files
        r"^#.*#$",  # emacs auto-saves
        r"^\.DS_Store$",  # macOS folder metadata
        r"\.tmp$",  # editors' atomic-save temporaries
        r"^\.~lock\..*#$",  # LibreOffice locks
    )
    """Regexes searched in a file or folder's own name: bytecode, editor leftovers, OS litter."""

    def __init__(self, exclude: Sequence[str] = ()) -> None:
        self.exclude = tuple(exclude)
        self._dir_names = frozenset(d for d in self.ignore_dirs if not _has_magic(d))
        self._dir_globs = tuple(d for d in self.ignore_dirs if _has_magic(d))
        self._entity = re.compile("|".join(f"(?:{p})" for p in self.ignore_entity_patterns))
        self._rules = tuple(rule for rule in map(_compile_rule, self.exclude) if rule is not None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(exclude={list(self.exclude)!r})"

    def __call__(self, relative_path: PurePosixPath | str, is_dir: bool) -> bool:
        """True to keep `relative_path`; it is dropped if any folder above it is."""
        path = PurePosixPath(relative_path)
        parts = [part for part in path.parts if part not in ("", ".", "/")]
        if not parts:
            return True
        for depth in range(1, len(parts)):
            if not self.keeps_entry(PurePosixPath(*parts[:depth]), is_dir=True):
                return False
        return self.keeps_entry(PurePosixPath(*parts), is_dir)

    def keeps_entry(self, relative_path: PurePosixPath, is_dir: bool) -> bool:
        """Like calling the filter, but trusting that every folder above was already kept.

        Walkers that prune ignored folders use this to avoid re-checking each ancestor.
        """
        name = relative_path.name
        if is_dir and self._ignored_dir_name(name):
            return False
        if self._entity.search(name):
            return False
        return self._passes_excludes(relative_path.as_posix(), is_dir)

    def keeps_posix(self, relative_posix: str, is_dir: bool) -> bool:
        """`keeps_entry` for a plain POSIX string (the walkers' hot path)."""
        name = relative_posix.rpartition("/")[2]
        if is_dir and self._ignored_dir_name(name):
            return False
        if self._entity.search(name):
            return False
        return self._passes_excludes(relative_posix, is_dir)

    def accepts_change(self, path: Path, root: Path) -> bool:
        """Whether a change reported at `path` (under `root`) concerns a kept file or folder."""
        try:
            relative = path.absolute().relative_to(root.absolute())
        except ValueError:
            return False
        posix = PurePosixPath(relative.as_posix())
        if path.is_dir():
            return self(posix, is_dir=True)
        if path.exists():
            return self(posix, is_dir=False)
        # A deleted path may have been either; a spurious sync beats a missed one.
        return self(posix, is_dir=False) or self(posix, is_dir=True)

    def _ignored_dir_name(self, name: str) -> bool:
        if name in self._dir_names:
            return True
        return any(fnmatch.fnmatchcase(name, glob) for glob in self._dir_globs)

    def _passes_excludes(self, posix: str, is_dir: bool) -> bool:
        # As in .gitignore, the last matching line decides.
        keep = True
        for rule in self._rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.fullmatch(posix):
                keep = rule.negated
        return keep


def _has_magic(text: str) -> bool:
    return any(char in text for char in "*?[")


def _compile_rule(line: str) -> _ExcludeRule | None:
    """A gitignore line as a regex over root-relative posix paths; None for blanks and comments."""
    pattern = line.strip()
    if not pattern or pattern.startswith("#"):
        return None
    negated = pattern.startswith("!")
    if negated:
        pattern = pattern[1:]
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    # A slash anywhere but at the end anchors the pattern to the root; otherwise it is a name.
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    if not pattern:
        return None
    body = _translate(pattern)
    regex = body if anchored else f"(?:.*/)?{body}"
    return _ExcludeRule(line, re.compile(regex, re.DOTALL), negated, dir_only)


def _translate(glob: str) -> str:
    """A gitignore glob as a regex: `*`, `?` and `[...]` stay within one segment; `**` crosses."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        if char == "*":
            end = i
            while end < n and glob[end] == "*":
                end += 1
            whole_segment = (i == 0 or glob[i - 1] == "/") and (end == n or glob[end] == "/")
            if end - i >= 2 and whole_segment:
                if end == n:
                    out.append(".*")
                else:
                    out.append("(?:.*/)?")
                    end += 1  # the `/` after `**` belongs to the optional group
            else:
                out.append("[^/]*")
            i = end
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            i = _translate_class(glob, i, out)
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def _translate_class(glob: str, start: int, out: list[str]) -> int:
    """Append a `[...]` class (or a literal `[` if unclosed); return the index after it."""
    i = start + 1
    negate = i < len(glob) and glob[i] in "!^"
    if negate:
        i += 1
    if i < len(glob) and glob[i] == "]":
        i += 1
    close = glob.find("]", i)
    if close < 0:
        out.append(re.escape("["))
        return start + 1
    raw = glob[start + 1 + (1 if negate else 0) : close]
    body = "".join(char if char == "-" else re.escape(char) for char in raw)
    out.append(f"[^/{body}]" if negate else f"[{body}]")
    return close + 1
