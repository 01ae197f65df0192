"""The one exception hierarchy: each error carries its exit code and a one-line message.

SparkpushError                      exit code 2 unless a subclass says otherwise
├── UsageError                      2
│   ├── ConfigError
│   │   └── UntrustedConfigError
│   ├── ConnectionStringError
│   ├── UnsafeStateDirError
│   ├── ForeignDaemonError
│   ├── DaemonAlreadyRunningError
│   ├── ServerAlreadyRunningError
│   ├── UdfLoadError
│   ├── EnvironmentBuildError
│   └── PackageError
│       ├── PackageNotFoundError
│       ├── PackageChecksumError
│       └── PackageConflictError
├── ServerUnreachableError          3
│   ├── EmbeddedServerStoppedError
│   ├── ServerHungError
│   ├── AuthenticationError
│   ├── ServerUnavailableError
│   └── CallTimeoutError
├── ServerError                     1
│   ├── CallCancelledError
│   ├── UdfFailedError
│   └── CloneUnsupportedError
├── ArtifactUploadError             4
│   ├── ServerDiskFullError
│   ├── ArtifactConflictError
│   └── ArtifactChangedError
├── EmbeddedServerError             3
│   └── JavaNotFoundError
├── DaemonStartError                3
├── DaemonRefusedError              3
├── DaemonSyncError                 the exit code of the daemon's failed sync
├── DaemonVersionMismatchError      2
├── EnvironmentOfflineError         3
└── PackageRepositoryError          3
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (see the README)."""

    OK = 0
    SCRIPT_FAILED = 1
    USAGE = 2
    UNREACHABLE = 3
    UPLOAD_FAILED = 4
    TIMEOUT = 124
    INTERRUPTED = 130
    TERMINATED = 143


class SparkpushError(Exception):
    """Root of every error the CLI reports as `error: <message>`."""

    exit_code: int = ExitCode.USAGE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(SparkpushError):
    """Bad flags, bad paths, bad artifacts given by the user."""

    exit_code = ExitCode.USAGE


class ConfigError(UsageError):
    """A configuration file or value that cannot be used."""


class ConnectionStringError(UsageError):
    """A malformed `sc://` connection string."""


class ServerUnreachableError(SparkpushError):
    """The Spark Connect server did not answer in time or refused the connection."""

    exit_code = ExitCode.UNREACHABLE


class EmbeddedServerStoppedError(ServerUnreachableError):
    """The embedded server is not running, and this command may not start it (the project's
    daemon waits for it, or the command only looks)."""


class ServerHungError(ServerUnreachableError):
    """The server stopped answering during a run (a stopped or hung JVM): no liveness answer
    within the liveness timeout."""


class AuthenticationError(ServerUnreachableError):
    """The server refused our credentials."""


class ServerError(SparkpushError):
    """The server answered an RPC with an error."""

    exit_code = ExitCode.SCRIPT_FAILED

    def __init__(self, message: str, error_class: str | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class


class ArtifactUploadError(SparkpushError):
    """An artifact could not be stored on the server."""

    exit_code = ExitCode.UPLOAD_FAILED


class EmbeddedServerError(SparkpushError):
    """The embedded server could not be started, found or stopped."""

    exit_code = ExitCode.UNREACHABLE


class JavaNotFoundError(EmbeddedServerError):
    """No usable Java (>= 17) for the embedded server."""


class UnsafeStateDirError(UsageError):
    """A state folder (`.sparkpush`, the user's state dir) that is a link, not ours, or
    writable by others: refused, nothing is written through it."""


class ForeignDaemonError(UsageError):
    """The project's control socket is served by another user."""


class DaemonAlreadyRunningError(UsageError):
    """The project already has a daemon (`connect watch` while `connect daemon start` runs)."""


class UntrustedConfigError(ConfigError):
    """A project's config names where data and credentials go, and the user has not trusted it."""


class ServerAlreadyRunningError(UsageError):
    """`connect server start --port B` while the embedded server runs on another port."""


class ServerDiskFullError(ArtifactUploadError):
    """The embedded server's disk has no room for what a clone would copy."""


class ArtifactConflictError(ArtifactUploadError):
    """The server already holds this artifact name with other bytes (ARTIFACT_ALREADY_EXISTS)."""


class ArtifactChangedError(ArtifactUploadError):
    """An artifact's bytes are not the ones recorded for it (the environment's archive):
    refused before the server holds them."""


class ServerUnavailableError(ServerUnreachableError):
    """The server did not take the call (gRPC UNAVAILABLE): restarting or the link dropped."""


class CallTimeoutError(ServerUnreachableError):
    """A call did not finish within its deadline (gRPC DEADLINE_EXCEEDED)."""


class CallCancelledError(ServerError):
    """A call was cut off midway (gRPC CANCELLED); an idempotent one may be sent again."""


class UdfFailedError(ServerError):
    """A Python UDF raised on a worker; `traceback` is the worker's traceback cut down to the
    user's own frames (the message says where, in one line)."""

    def __init__(
        self, message: str, traceback: tuple[str, ...] = (), error_class: str | None = None
    ) -> None:
        super().__init__(message, error_class=error_class)
        self.traceback = traceback


class UdfLoadError(UsageError):
    """A UDF module could not be loaded, pickled or registered; the last good one stays."""


class DaemonStartError(SparkpushError):
    """The background daemon exited or did not answer while starting."""

    exit_code = ExitCode.UNREACHABLE


class DaemonRefusedError(SparkpushError):
    """The project's daemon refused a request: too many connections open at once, or one it
    could not read."""

    exit_code = ExitCode.UNREACHABLE


class DaemonSyncError(SparkpushError):
    """The daemon's last sync failed (e.g. a broken UDF module); carries its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class DaemonVersionMismatchError(SparkpushError):
    """The project's daemon answers in another sparkpush version's form."""

    def __init__(self) -> None:
        super().__init__(
            "the project's daemon answered in another sparkpush version's form; "
            "restart it ('connect daemon stop', then 'connect daemon start')"
        )


class CloneUnsupportedError(ServerError):
    """The server has no `CloneSession` RPC (Spark 4.0): layers and clones fall back."""


class EnvironmentBuildError(UsageError):
    """The project's environment cannot be built: a requirement pip cannot resolve or install,
    no wheel for the workers' platform, a refused pip option."""


class EnvironmentOfflineError(SparkpushError):
    """A build of the environment is needed and the package index cannot be reached."""

    exit_code = ExitCode.UNREACHABLE


class PackageError(UsageError):
    """JVM packages by Maven coordinates that cannot be resolved: a coordinate or repository
    that does not parse, and the subclasses below."""


class PackageNotFoundError(PackageError):
    """A coordinate no repository has (all of them answered)."""


class PackageChecksumError(PackageError):
    """A file whose bytes do not match the repository's checksum, or the lock's sha256."""


class PackageConflictError(PackageError):
    """Versions of one module that Ivy (or the request itself) cannot settle."""


class PackageRepositoryError(SparkpushError):
    """A package is missing and a repository that could have it did not answer."""

    exit_code = ExitCode.UNREACHABLE
