"""Entry point of the background daemon: `python -m sparkpush.daemon.process_main --project ROOT`.

The remote, which may hold a token, comes through SPARKPUSH_DAEMON_REMOTE, never argv.
"""

from __future__ import annotations

import argparse
import io
import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import cast

from sparkpush.daemon.lifecycle import run_daemon
from sparkpush.errors import DaemonAlreadyRunningError, SparkpushError
from sparkpush.state.daemon_paths import daemon_paths
from sparkpush.state.private_files import private_opener

REMOTE_ENV = "SPARKPUSH_DAEMON_REMOTE"
LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sparkpush-daemon")
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--config", type=Path)
    args = parser.parse_args(argv)
    root = args.project.resolve()
    _log_to_file(daemon_paths(root).log)
    log = logging.getLogger("sparkpush.daemon")
    remote = os.environ.pop(REMOTE_ENV, None) or None
    try:
        run_daemon(root, args.config, remote, on_message=lambda m: log.info("%s", m))
    except DaemonAlreadyRunningError as exc:
        log.info("%s", exc.message)
        return 0  # lost the race to another `daemon start`: that one serves
    except SparkpushError as exc:
        log.error("%s", exc.message)
        return exc.exit_code
    return 0


class _PrivateRotatingLog(logging.handlers.RotatingFileHandler):
    """Every file it opens, the one after each rotation included, is 0600 whatever the umask.

    With `redirect_std`, the process's stdout and stderr follow it: what escapes logging (a
    traceback of a thread, a library's print) lands in the log `connect daemon logs` shows,
    not in a file rotated away.
    """

    redirect_std = False

    def _open(self) -> io.TextIOWrapper:
        # the handler owns the stream and closes it at the next rotation
        stream = cast(
            io.TextIOWrapper,
            open(  # noqa: SIM115
                self.baseFilename,
                self.mode,
                encoding=self.encoding,
                errors=self.errors,
                opener=private_opener,
            ),
        )
        if self.redirect_std:
            for standard in (sys.stdout, sys.stderr):
                standard.flush()
                os.dup2(stream.fileno(), standard.fileno())
        return stream


def _log_to_file(path: Path) -> None:
    handler = _PrivateRotatingLog(
        path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True
    )
    handler.redirect_std = True
    # the pid tells this daemon's lines from an earlier one's in the same file
    handler.setFormatter(
        logging.Formatter("%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)


if __name__ == "__main__":
    sys.exit(main())
