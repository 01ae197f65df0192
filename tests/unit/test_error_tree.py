"""The tree drawn in `sparkpush.errors`' docstring is the class hierarchy, with its exit codes."""

from __future__ import annotations

import re

import sparkpush.errors as errors_module
from sparkpush.errors import SparkpushError

_LINE = re.compile(r"^(?P<indent>(?:[│ ]   )*)(?:[├└]── )?(?P<name>\w+)\s*(?P<code>\d+)?")


def _drawn_tree() -> dict[str, tuple[str | None, int | None]]:
    """Class name -> (drawn parent, drawn exit code or None)."""
    doc = errors_module.__doc__ or ""
    lines = [
        line for line in doc.splitlines() if line.startswith(("SparkpushError", "│", "├", "└"))
    ]
    drawn: dict[str, tuple[str | None, int | None]] = {}
    parents: list[str] = []
    for line in lines:
        match = _LINE.match(line)
        assert match, line
        depth = len(match["indent"]) // 4 + (0 if line.startswith("SparkpushError") else 1)
        parents = parents[:depth]
        code = int(match["code"]) if match["code"] else None
        drawn[match["name"]] = (parents[-1] if parents else None, code)
        parents.append(match["name"])
    return drawn


def _error_classes() -> dict[str, type[SparkpushError]]:
    return {
        name: value
        for name, value in vars(errors_module).items()
        if isinstance(value, type) and issubclass(value, SparkpushError)
    }


def test_every_error_class_is_drawn_under_its_parent() -> None:
    drawn = _drawn_tree()
    classes = _error_classes()
    assert set(drawn) == set(classes)
    for name, cls in classes.items():
        parent = cls.__mro__[1].__name__ if cls is not SparkpushError else None
        assert drawn[name][0] == parent, name


def test_drawn_exit_codes_are_the_classes_exit_codes() -> None:
    for name, (_parent, code) in _drawn_tree().items():
        if code is not None and name != "DaemonSyncError":
            assert _error_classes()[name].exit_code == code, name
