"""`connect artifacts` shows each artifact's layer in its table, not only in `--json`."""

from __future__ import annotations

from sparkpush.cli.commands.artifacts import render_table


def test_the_table_has_a_layer_column() -> None:
    row = {"name": "jars/a.jar", "kind": "jar", "size": 1234, "sha256": "ab" * 32, "source": "lib"}
    shown = render_table(
        [{**row, "layer": "base"}, {**row, "name": "pyfiles/m.py", "layer": "code"}]
    )
    header, _rule, base, code, count = shown.splitlines()
    assert header.split() == ["name", "kind", "size", "sha256", "source", "layer"]
    assert base.split() == ["jars/a.jar", "jar", "1,234", "abababababab", "lib", "base"]
    assert code.split()[-1] == "code" and count == "(2 rows)"
    assert render_table([{**row, "layer": None}]).splitlines()[2].split()[-1] == "-"
