"""What tests share besides fixtures: waiting on a condition, running `connect`.

- `wait_until(condition, timeout, what=...)`: the one deadline loop (`waiting.py`).
- `run_connect(args, env=..., cwd=...)`: `connect` as its own process, where the process
  boundary matters; `run_connect_in_process(...)`: the same CLI in the test process, checked
  to leave no process-wide state behind (`cli_runs.py`, `process_state.py`).
- `started_submit(env, root, script, source, ...)`: `connect submit` in the background, once
  its script has printed its first line (`submits.py`).
- `LINUX_WORKERS`: the workers unit tests pretend a server has (`worker_targets.py`).
"""

from __future__ import annotations

from tests.support.cli_runs import run_connect, run_connect_in_process
from tests.support.waiting import wait_until

__all__ = ["run_connect", "run_connect_in_process", "wait_until"]
