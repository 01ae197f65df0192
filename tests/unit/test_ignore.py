from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from sparkpush.artifacts.ignore import DefaultFilter


@pytest.mark.parametrize(
    ("path", "is_dir"),
    [
        ("__pycache__", True),
        ("pkg/__pycache__", True),
        ("pkg/__pycache__/mod.cpython-311.pyc", False),
        (".git", True),
        (".git/config", False),
        (".venv/lib/site.py", False),
        ("venv", True),
        ("node_modules/x/index.js", False),
        (".sparkpush/manifest.json", False),
        ("mypkg.egg-info", True),
        ("src/mypkg.egg-info/PKG-INFO", False),
        (".mypy_cache", True),
        (".idea/workspace.xml", False),
        ("pkg/mod.pyc", False),
        ("pkg/mod.pyo", False),
        ("pkg/.mod.py.swp", False),
        ("pkg/mod.py~", False),
        ("pkg/.#mod.py", False),
        ("pkg/#mod.py#", False),
        (".DS_Store", False),
        ("pkg/data.tmp", False),
    ],
)
def test_default_rules_drop_litter(path: str, is_dir: bool) -> None:
    assert DefaultFilter()(path, is_dir) is False


@pytest.mark.parametrize(
    ("path", "is_dir"),
    [
        ("pkg/mod.py", False),
        ("pkg", True),
        ("pkg/data/table.csv", False),
        ("git/notes.txt", False),
        ("venv.py", False),
        ("pkg/__init__.py", False),
        (".env.example", False),
        ("", True),
        (".", True),
    ],
)
def test_default_rules_keep_sources(path: str, is_dir: bool) -> None:
    assert DefaultFilter()(path, is_dir) is True


def test_ignored_dir_name_only_applies_to_folders() -> None:
    assert DefaultFilter()("venv", is_dir=False) is True


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "kept"),
    [
        # No slash: a name at any depth.
        (["tests"], "tests", True, False),
        (["tests"], "src/pkg/tests", True, False),
        (["tests"], "src/pkg/tests/test_a.py", False, False),
        (["*.log"], "a/b/c.log", False, False),
        (["*.log"], "a/b/c.log.txt", False, True),
        (["secret.txt"], "secret.txt", False, False),
        # A leading slash anchors to the root.
        (["/build"], "build", True, False),
        (["/build"], "src/build", True, True),
        # An inner slash anchors too.
        (["src/gen"], "src/gen/x.py", False, False),
        (["src/gen"], "other/src/gen/x.py", False, True),
        (["src/*.py"], "src/a.py", False, False),
        (["src/*.py"], "src/sub/a.py", False, True),
        # A trailing slash matches folders only.
        (["data/"], "data", True, False),
        (["data/"], "data", False, True),
        (["data/"], "x/data/file.csv", False, False),
        # `**` crosses folders.
        (["**/fixtures"], "fixtures", True, False),
        (["**/fixtures"], "a/b/fixtures", True, False),
        (["docs/**/*.md"], "docs/a.md", False, False),
        (["docs/**/*.md"], "docs/x/y/a.md", False, False),
        (["docs/**/*.md"], "src/a.md", False, True),
        (["logs/**"], "logs/a/b.txt", False, False),
        (["logs/**"], "logs", True, True),
        # `?` and classes stay within a segment.
        (["mod?.py"], "mod1.py", False, False),
        (["mod?.py"], "mod12.py", False, True),
        (["[ab].py"], "a.py", False, False),
        (["[ab].py"], "c.py", False, True),
        (["[!ab].py"], "c.py", False, False),
        (["[!ab].py"], "a.py", False, True),
        # Negation: the last matching line wins.
        (["*.csv", "!keep.csv"], "data/keep.csv", False, True),
        (["*.csv", "!keep.csv"], "data/drop.csv", False, False),
        (["!keep.csv", "*.csv"], "data/keep.csv", False, False),
        # A file inside an excluded folder cannot be re-included.
        (["data/", "!data/keep.csv"], "data/keep.csv", False, False),
        # Blank lines and comments are no patterns.
        (["", "  ", "# comment"], "comment", False, True),
        # Escapes make special characters literal.
        (["\\#notes"], "#notes", False, False),
        (["a\\*b"], "a*b", False, False),
        (["a\\*b"], "axb", False, True),
    ],
)
def test_exclude_patterns_follow_gitignore(
    patterns: list[str], path: str, is_dir: bool, kept: bool
) -> None:
    assert DefaultFilter(patterns)(PurePosixPath(path), is_dir) is kept


def test_keeps_entry_checks_only_the_last_component() -> None:
    keep = DefaultFilter(["/gen"])
    # The walker prunes `.git` itself; for an entry under it only the entry's name counts.
    assert keep.keeps_entry(PurePosixPath(".git/config"), is_dir=False) is True
    assert keep.keeps_entry(PurePosixPath("gen"), is_dir=True) is False


def test_subclass_can_extend_the_class_attributes() -> None:
    class NoData(DefaultFilter):
        ignore_dirs = (*DefaultFilter.ignore_dirs, "data")

    assert NoData()("data/x.csv", is_dir=False) is False
    assert DefaultFilter()("data/x.csv", is_dir=False) is True


def test_accepts_change_relative_to_root(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "__pycache__" / "mod.pyc").write_bytes(b"")
    keep = DefaultFilter(["/pkg/skip.py"])
    assert keep.accepts_change(tmp_path / "pkg" / "mod.py", tmp_path)
    assert not keep.accepts_change(tmp_path / "pkg" / "__pycache__" / "mod.pyc", tmp_path)
    assert not keep.accepts_change(tmp_path / "pkg" / "__pycache__", tmp_path)
    assert not keep.accepts_change(tmp_path / "pkg" / "skip.py", tmp_path)
    # A deleted file is still reported.
    assert keep.accepts_change(tmp_path / "pkg" / "gone.py", tmp_path)
    assert not keep.accepts_change(tmp_path.parent / "elsewhere.py", tmp_path)


def test_repr_shows_excludes() -> None:
    assert repr(DefaultFilter(["*.csv"])) == "DefaultFilter(exclude=['*.csv'])"
