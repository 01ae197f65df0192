"""`connect submit` started in the background, for tests that act on it while its script runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def started_submit(
    env: Mapping[str, str],
    root: Path,
    script: str,
    source: str,
    *flags: str,
    args: tuple[str, ...] = (),
    first_word: str,
) -> tuple[subprocess.Popen[str], list[str]]:
    """`connect submit FLAGS SCRIPT ARGS` in `root` and in a session (process group) of its
    own, `source` written to `root/SCRIPT` first; returned once the script has printed its
    first line, which must start with `first_word`: the run and the rest of that line's words
    (the script's pid or session id, say). Stop it with `os.killpg(run.pid, ...)`."""
    (root / script).write_text(source)
    run = subprocess.Popen(
        [sys.executable, "-m", "sparkpush", "submit", *flags, script, *args],
        env=dict(env),
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert run.stdout is not None
    line = run.stdout.readline()
    words = line.split()
    if words[:1] != [first_word]:
        os.killpg(run.pid, signal.SIGKILL)  # the submit and its script
        _, stderr = run.communicate()
        raise AssertionError(f"the script's first line is {line!r}, not {first_word} ...: {stderr}")
    return run, words[1:]
