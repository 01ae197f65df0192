"""`connect watch` refusing to start next to a running daemon (no server needed)."""

from __future__ import annotations

from pathlib import Path

from sparkpush.daemon.lifecycle import daemon_lock
from tests.conftest import clean_env, run_connect


def test_watch_while_the_daemon_runs_is_an_error_with_a_non_zero_exit(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.sparkpush]\n")
    with daemon_lock(tmp_path.resolve()):  # what a running daemon holds
        result = run_connect(
            ["watch"], env=clean_env(XDG_STATE_HOME=str(tmp_path / "state")), cwd=tmp_path
        )
    assert result.returncode == 2, result.stderr
    # the error first, and nothing else: no "watching ... (Ctrl-C to stop)" before it
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: a daemon is already running for ")
    assert "connect daemon stop" in result.stderr
    assert "Traceback" not in result.stderr
