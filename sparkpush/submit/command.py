"""What `connect submit` decides: fresh or attached, the run, and its report on every ending."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sparkpush.artifacts.local_artifact import LocalArtifact, artifacts_from_flags
from sparkpush.config.settings import Config
from sparkpush.connect.liveness import DEFAULT_TIMEOUT_S as DEFAULT_LIVENESS_TIMEOUT_S
from sparkpush.daemon.attach import daemon_running, project_target
from sparkpush.errors import SparkpushError, UsageError
from sparkpush.packages.spec import PackageFlags
from sparkpush.progress.notify import Notify, ProgressCallback
from sparkpush.submit.from_project import attach_to_project, with_project_artifacts
from sparkpush.submit.outcome import RunStatus, SubmitOutcome, interrupted_before_the_run
from sparkpush.submit.prefork import prefork
from sparkpush.submit.report import build_report, remote_for_report, write_report
from sparkpush.submit.runner import SubmitRequest, check_app, run_submit
from sparkpush.workerout.settings import kept_file_for, worker_output_conf, worker_output_on


@dataclass(frozen=True)
class SubmitOptions:
    """`connect submit`'s flags and arguments, as the user gave them."""

    app: str | None
    app_args: tuple[str, ...] = ()
    module: str | None = None
    remote: str | None = None
    ca_file: Path | None = None
    py_files: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()
    archives: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    packages: PackageFlags = field(default_factory=PackageFlags)
    confs: tuple[str, ...] = ()
    timeout_raw: str | None = None
    liveness_timeout_raw: str | None = None
    report_path: Path | None = None
    as_json: bool = False
    attach: bool = False
    fresh: bool = False
    query_progress: bool = False
    worker_output: bool | None = None
    """`--worker-output/--no-worker-output`; None: the config decides."""


@dataclass(frozen=True)
class SubmitResult:
    """How the run ended: the report's fields, the exit code, and an error to show, if any."""

    report: dict[str, Any]
    exit_code: int
    outcome: SubmitOutcome

    @property
    def failure(self) -> SparkpushError | None:
        return self.outcome.failure


def parse_conf(values: tuple[str, ...]) -> dict[str, str]:
    conf: dict[str, str] = {}
    for value in values:
        key, eq, setting = value.partition("=")
        if not eq or not key.strip():
            raise UsageError(f"--conf {value!r} is not key=value")
        conf[key.strip()] = setting
    return conf


def parse_timeout(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise UsageError(f"--timeout must be a positive number of seconds, not {raw!r}")
    return seconds


def parse_liveness_timeout(raw: str | None, configured: float | None) -> float | None:
    """Seconds without an answer after which the server counts as hung; None: never asked."""
    if raw is None:
        seconds = DEFAULT_LIVENESS_TIMEOUT_S if configured is None else configured
    else:
        try:
            seconds = float(raw)
        except ValueError:
            seconds = -1.0
        if not seconds >= 0 or seconds == float("inf"):
            raise UsageError(
                f"--liveness-timeout must be a number of seconds (0: off), not {raw!r}"
            )
    return seconds or None


def submit_and_report(
    options: SubmitOptions,
    load_config: Callable[[], Config],
    notify: Notify,
    on_progress: ProgressCallback | None,
) -> SubmitResult:
    """Run the script (fresh, or attached to the project's generation) and report how it ended.

    Errors before or during the run are raised as they are, unless a report or a JSON summary
    was asked for: then they become a failed outcome that is reported first.
    """
    timeout_s = parse_timeout(options.timeout_raw)
    app: str | None = options.app
    app_args = options.app_args
    if options.module is not None and options.app is not None:
        app, app_args = None, (options.app, *app_args)  # `-m mod ARGS...`: all are its args
    # Before anything opens a gRPC channel: forking is only safe until then.
    forked = prefork()
    started_at = time.time()
    remote_shown: str | None = None
    try:
        config = load_config()
        worker_output = worker_output_on(options.worker_output, config.worker_output)
        request = SubmitRequest(
            app=app,
            module=options.module,
            args=app_args,
            artifacts=_flagged_artifacts(options),
            conf={
                **worker_output_conf(worker_output),
                **config.conf,
                **parse_conf(options.confs),
            },
            timeout_s=timeout_s,
            query_progress=options.query_progress,
            worker_output=worker_output,
            worker_output_relevant=bool(config.udf_modules),
            worker_output_file=kept_file_for(options.report_path) if options.report_path else None,
            liveness_timeout_s=parse_liveness_timeout(
                options.liveness_timeout_raw, config.liveness_timeout
            ),
        )
        check_app(request)
        if options.attach and not options.packages.empty:
            raise UsageError(
                "--packages, --repositories and --exclude-packages make an isolated session; "
                "for the project's generation put them in [tool.sparkpush.packages]"
            )
        target = project_target(config, options.remote, notify=notify, ca_file=options.ca_file)
        remote_shown = remote_for_report(target.spec)
        if _attaches(options, request, config, notify):
            with attach_to_project(config, target, request, notify, on_progress) as attached:
                outcome = run_submit(
                    target,
                    attached.request,
                    notify,
                    on_progress,
                    forked=forked,
                    lease=attached.lease,
                )
        else:
            request = with_project_artifacts(config, target, request, notify, options.packages)
            outcome = run_submit(target, request, notify, on_progress, forked=forked)
    except SparkpushError as exc:
        if options.report_path is None and not options.as_json:
            raise
        outcome = SubmitOutcome(exit_code=exc.exit_code, session_id=None, started_at=started_at)
        outcome.fail(exc)
        outcome.duration_s = time.time() - started_at
    except KeyboardInterrupt:
        # before the run had a session (and its own signal handling): nothing to clean up
        outcome = interrupted_before_the_run(started_at)
    finally:
        if forked is not None:
            forked.abandon()
    return _reported(options, outcome, app, app_args, remote_shown, notify)


def _flagged_artifacts(options: SubmitOptions) -> list[LocalArtifact]:
    return artifacts_from_flags(options.py_files, options.jars, options.archives, options.files)


def _attaches(
    options: SubmitOptions, request: SubmitRequest, config: Config, notify: Notify
) -> bool:
    """--attach, or by default while the project's daemon runs (unless --fresh or flags)."""
    if options.attach and options.fresh:
        raise UsageError("--attach and --fresh exclude each other")
    if options.attach:
        return True
    if (
        options.fresh
        or request.artifacts
        or not options.packages.empty
        or not daemon_running(config.project_root)
    ):
        return False
    notify("the project's daemon is running: attaching to its generation (--fresh: own)")
    return True


def _reported(
    options: SubmitOptions,
    outcome: SubmitOutcome,
    app: str | None,
    app_args: tuple[str, ...],
    remote_shown: str | None,
    notify: Notify,
) -> SubmitResult:
    report = build_report(
        outcome, app=app, module=options.module, args=app_args, remote=remote_shown
    )
    exit_code = outcome.exit_code
    if options.report_path is not None:
        try:
            write_report(options.report_path, report)
        except OSError as exc:
            notify(f"cannot write the report {options.report_path}: {exc.strerror or exc}")
            exit_code = exit_code or UsageError.exit_code
    return SubmitResult(report=report, exit_code=exit_code, outcome=outcome)


def tell_how_it_ended(notify: Notify, outcome: SubmitOutcome) -> None:
    if outcome.status not in (RunStatus.TIMEOUT, RunStatus.INTERRUPTED):
        return
    if outcome.session_id is None:
        notify(f"{outcome.error} before a session was created")
        return
    stopped = len(set(outcome.interrupted_operations))
    released = "released" if outcome.session_released else "could not release"
    notify(
        f"{outcome.error}: interrupted {stopped} operation(s) on the server, {released} the session"
    )
