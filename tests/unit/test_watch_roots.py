from __future__ import annotations

from pathlib import Path

from sparkpush.config.settings import Config, load_config
from sparkpush.daemon.watch_roots import unwatched_folders, watch_roots


def config_with(tmp_path: Path, artifacts: str) -> Config:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(f"[tool.sparkpush.artifacts]\n{artifacts}\n")
    return load_config(cwd=project)


def test_missing_folders_inside_the_project_are_covered_by_its_root(tmp_path: Path) -> None:
    config = config_with(tmp_path, 'jars = ["build/libs/*.jar"]\nclasses = ["out/classes"]')
    roots = watch_roots(config)
    assert roots == [config.project_root]
    assert unwatched_folders(config, roots) == []


def test_a_missing_folder_outside_the_project_is_unwatched(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "lib"
    config = config_with(tmp_path, f'jars = ["{outside}/*.jar"]')
    roots = watch_roots(config)
    assert unwatched_folders(config, roots) == [outside.parent.resolve()]
    outside.mkdir(parents=True)
    roots = watch_roots(config)
    assert outside.resolve() in roots
    assert unwatched_folders(config, roots) == []
