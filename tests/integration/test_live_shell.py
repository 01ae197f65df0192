"""`connect shell` through a pty and `%load_ext sparkpush` in IPython, on the real server:
`spark` answers on the live generation, a new generation is noticed, `spark.refresh()` moves."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import EmbeddedServer, run_connect
from tests.integration.conftest import daemon_status, session_alive, write_udf_project
from tests.support import wait_until

pytestmark = pytest.mark.integration

FILES = '[tool.sparkpush.artifacts]\nfiles = ["data/*.txt"]\n'
QUERY = b"spark.sql(\"SELECT tagged('q') AS t\").first()[0]\n"


class Terminal:
    """A process on a pty: what it printed so far, and waiting for a text with a deadline."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the shell
            os.chdir(cwd)
            os.execve(argv[0], argv, env)
        self.output = b""
        self.cursor = 0
        """Where the next `wait_for` starts looking: just after the last text found."""

    def send(self, line: bytes) -> None:
        os.write(self.fd, line)

    def wait_for(self, text: str, seconds: float = 180) -> None:
        def printed() -> bool:
            found = self.output.find(text.encode(), self.cursor)
            if found >= 0:
                self.cursor = found + len(text.encode())
                return True
            self._read(0.5, or_fail=f"the shell ended before it printed {text!r}")
            return False

        try:
            wait_until(printed, seconds, interval=0)
        except AssertionError as failure:
            raise AssertionError(f"{failure}: {self.output.decode()!r}") from None

    def exit_code(self, seconds: float = 60) -> int:
        def ended() -> tuple[int, ...]:
            self._read(0.2)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            return (os.waitstatus_to_exitcode(status),) if pid else ()

        return wait_until(ended, seconds, what="the shell to exit", interval=0)[0]

    def _read(self, seconds: float, or_fail: str | None = None) -> None:
        """What the shell prints within `seconds`, added to `output`."""
        if select.select([self.fd], [], [], seconds)[0]:
            try:
                self.output += os.read(self.fd, 65536)
            except OSError:  # the child is gone
                if or_fail:
                    raise AssertionError(or_fail) from None

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


@contextmanager
def project_with_daemon(server: EmbeddedServer, root: Path) -> Iterator[Path]:
    write_udf_project(root, FILES)
    (root / "data").mkdir()
    (root / "data" / "a.txt").write_text("a")
    started = run_connect(["daemon", "start"], env=server.env, cwd=root)
    assert started.returncode == 0, started.stderr
    try:
        yield root
    finally:
        run_connect(["daemon", "stop"], env=server.env, cwd=root)


def test_the_shell_answers_on_the_live_generation_and_notices_a_new_one(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    with project_with_daemon(embedded_server, tmp_path / "proj") as root:
        argv = [sys.executable, "-m", "sparkpush", "shell", "--plain"]
        shell = Terminal(argv, {**embedded_server.env, "TERM": "dumb"}, root)
        try:
            shell.wait_for("spark is on generation 1")
            shell.wait_for("UDFs: Squares, plus_one, tagged")
            shell.wait_for(">>> ")
            # the REPL may write the words one by one: wait for the last before typing on
            shell.send(b"print('CLONE', spark.client._session_id, 'END')\n")
            shell.wait_for(" END")
            clone = re.findall(r"CLONE (\S+) END", shell.output.decode())[-1]
            shell.send(QUERY)
            shell.wait_for("'q-v1'")
            assert session_alive(embedded_server, clone)
            # a relative path reads the file where the shell was started
            shell.send(b"old = spark.read.text('data/a.txt'); print('ROWS', old.count(), 'END')\n")
            shell.wait_for("ROWS 1 END")
            # a changed file: the daemon builds generation 2 and the shell says so unasked
            (root / "data" / "a.txt").write_text("b")
            shell.wait_for("generation 2 is live (spark is on 1): spark.refresh()")
            (root / "helpers.py").write_text("def tag():\n    return 'v2'\n")
            shell.send(b"spark.refresh()\n")
            shell.wait_for("spark is on generation 2")
            shell.send(QUERY)
            shell.wait_for("'q-v2'")
            assert not session_alive(embedded_server, clone)  # the old clone is released
            # a DataFrame of the old clone: one line, not PySpark's long NO_ACTIVE_SESSION
            shell.send(b"old.count()\n")
            shell.wait_for("that DataFrame belongs to the session spark.refresh() let go")
            shell.send(b"exit()\n")
            assert shell.exit_code() == 0
        finally:
            shell.kill()
        assert "Traceback" not in shell.output.decode()
        assert "NO_ACTIVE_SESSION" not in shell.output.decode()
        assert embedded_server.token not in shell.output.decode()
        assert daemon_status(root, embedded_server.env)["generation"] == 2


IPYTHON_SESSION = """
import json
import time
from pathlib import Path
from IPython.core.interactiveshell import InteractiveShell

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "sparkpush")
ip.run_cell("print('ANSWER', spark.sql(\\"SELECT tagged('n')\\").first()[0])")
ip.run_cell("old = spark.read.text('data/a.txt'); print('ROWS', old.count())")
Path("data/a.txt").write_text("c")
deadline = time.monotonic() + 180
while json.loads(Path(".sparkpush/manifest.json").read_text())["generation"] < 2:
    assert time.monotonic() < deadline, "no generation 2"
    time.sleep(0.3)
ip.run_cell("print('CELL')")
ip.run_cell("spark.refresh()")
ip.run_cell("old.count()")
ip.run_cell("print('ANSWER', spark.sql(\\"SELECT tagged('n')\\").first()[0])")
ip.run_line_magic("unload_ext", "sparkpush")
print("UNLOADED", "spark" in ip.user_ns)
"""


def test_the_ipython_extension_gives_notebooks_the_same_spark(
    embedded_server: EmbeddedServer, tmp_path: Path
) -> None:
    pytest.importorskip("IPython")
    with project_with_daemon(embedded_server, tmp_path / "proj") as root:
        result = subprocess.run(
            [sys.executable, "-c", IPYTHON_SESSION],
            env=embedded_server.env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "ANSWER n-v1" in lines
    assert lines.index(
        "sparkpush: generation 2 is live (spark is on 1): spark.refresh() moves spark to it"
    ) < lines.index("CELL")
    assert "sparkpush: spark is on generation 2" in lines
    assert "ROWS 1" in lines  # a relative path, read where the kernel runs
    assert any("belongs to the session spark.refresh() let go" in line for line in lines)
    assert "NO_ACTIVE_SESSION" not in result.stdout + result.stderr
    assert lines.count("ANSWER n-v1") == 2
    assert "UNLOADED False" in lines
