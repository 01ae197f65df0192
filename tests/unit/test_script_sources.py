from __future__ import annotations

from pathlib import Path

from sparkpush.daemon.script_sources import local_sources, sources_signature


def test_the_script_and_its_project_imports_transitively(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "import os\nimport lib\nfrom pkg import tools\nfrom pkg.sub import deep as d\n"
        "import pyspark.sql\n"
    )
    (tmp_path / "lib.py").write_text("import helper\n")
    (tmp_path / "helper.py").write_text("X = 1\n")
    (tmp_path / "unused.py").write_text("")
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "tools.py").write_text("from . import sibling\nfrom .. import helper\n")
    (tmp_path / "pkg" / "sibling.py").write_text("")
    (tmp_path / "pkg" / "sub" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "sub" / "deep.py").write_text("")
    found = {
        p.relative_to(tmp_path).as_posix() for p in local_sources(tmp_path / "app.py", tmp_path)
    }
    assert found == {
        "app.py",
        "lib.py",
        "helper.py",
        "pkg/__init__.py",
        "pkg/tools.py",
        "pkg/sibling.py",
        "pkg/sub/__init__.py",
        "pkg/sub/deep.py",
    }


def test_a_script_in_a_subfolder_and_files_outside_the_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    (project / "scripts" / "app.py").write_text("import near\nimport top\nimport outside\n")
    (project / "scripts" / "near.py").write_text("")
    (project / "top.py").write_text("")
    (tmp_path / "outside.py").write_text("")
    found = local_sources(project / "scripts" / "app.py", project)
    assert {p.name for p in found} == {"app.py", "near.py", "top.py"}


def test_a_script_that_does_not_parse_is_still_watched(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import lib\ndef broken(:\n")
    (tmp_path / "lib.py").write_text("")
    assert [p.name for p in local_sources(tmp_path / "app.py", tmp_path)] == ["app.py"]


def test_the_signature_follows_the_bytes(tmp_path: Path) -> None:
    script = tmp_path / "app.py"
    script.write_text("print(1)\n")
    before = sources_signature((script,))
    assert sources_signature((script,)) == before
    script.write_text("print(2)\n")
    assert sources_signature((script,)) != before
