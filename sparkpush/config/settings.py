"""`[tool.sparkpush]` configuration: found upward from the working directory, validated."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sparkpush.config.trust import (
    CREDENTIAL_KEYS,
    SOURCE_KEYS,
    TrustState,
    credentials_digest,
    master_on_this_machine,
    trust_state,
)
from sparkpush.errors import ConfigError
from sparkpush.state.folders import user_config_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_SERVER_PORT = 15002
DEFAULT_MASTER = "local[*]"
IVY_SCHEME = "ivy://"
"""`artifacts.jars` entries with this scheme are Maven coordinates, as the Scala client takes."""

_STR = "a string"
_INT = "an integer"
_NUMBER = "a number of seconds (0 or more)"
_BOOL = "true or false"
_STR_LIST = "a list of strings"
_STR_TABLE = "a table of strings"
_TABLE = "a table"

# Every key the `[tool.sparkpush]` table may hold, with the type it must have.
_SCHEMA: dict[str, Any] = {
    "remote": _STR,
    "token_file": _STR,
    "ca_file": _STR,
    "user_id": _STR,
    "liveness_timeout": _NUMBER,
    "server": {
        "port": _INT,
        "master": _STR,
        "ui": _BOOL,
        "workers": _INT,
        "packages": _STR_LIST,
        "conf": _STR_TABLE,
    },
    "conf": _STR_TABLE,
    "artifacts": {
        "python": _STR_LIST,
        "pyfiles": _STR_LIST,
        "wheels": _STR_LIST,
        "jars": _STR_LIST,
        "classes": _STR_LIST,
        "archives": _STR_LIST,
        "files": _STR_LIST,
        "exclude": _STR_LIST,
    },
    "udf": {"modules": _STR_LIST, "names": _STR_TABLE},
    "java_udfs": _TABLE,
    "environment": {
        "requirements": _STR_LIST,
        "requirements_files": _STR_LIST,
        "project_dependencies": _BOOL,
        "pip_args": _STR_LIST,
    },
    "layers": {"enabled": _BOOL, "code": _STR_LIST},
    "packages": {"coordinates": _STR_LIST, "repositories": _STR_LIST, "exclude": _STR_LIST},
    "worker_output": _BOOL,
}

USER_CONFIG_FILE = "config.toml"
# The user's own config (`$XDG_CONFIG_HOME/sparkpush/config.toml`): where to connect, and
# folders outside a project that artifacts may come from. Never a repository's to set.
_USER_SCHEMA: dict[str, Any] = {
    "remote": _STR,
    "token_file": _STR,
    "ca_file": _STR,
    "user_id": _STR,
    "artifact_roots": _STR_LIST,
}


@dataclass(frozen=True)
class ServerSettings:
    """The embedded server's settings; None is "not set" (a later layer or the default).

    Layers, first wins: `connect server start`'s flags, `[tool.sparkpush.server]`, and the
    settings of the server's last start (`server.last_start`).
    """

    port: int | None = None
    """None: DEFAULT_SERVER_PORT when it is free, else a free port."""
    master: str | None = None
    ui: bool | None = None
    workers: int | None = None
    port_source: str | None = None
    """Where `port` was set (`--port`, an environment variable, a config file): named when
    that port is busy."""
    packages: tuple[str, ...] = ()
    """Maven coordinates for the embedded server's own class path (SQL extensions, catalogs)."""
    conf: Mapping[str, str] = field(default_factory=dict)
    """Static Spark confs the embedded server starts with (not settable per session)."""

    def over(self, fallback: ServerSettings) -> ServerSettings:
        """These settings, with what they leave unset taken from `fallback`."""
        explicit_port = self.port is not None
        workers: int | None
        if self.workers is not None:
            workers = self.workers
        else:  # a master of our own means no local cluster, whatever the fallback had
            workers = 0 if self.master is not None else fallback.workers
        return ServerSettings(
            port=self.port if explicit_port else fallback.port,
            master=self.master if self.master is not None else fallback.master,
            ui=self.ui if self.ui is not None else fallback.ui,
            workers=workers,
            port_source=self.port_source if explicit_port else fallback.port_source,
            packages=self.packages or fallback.packages,
            conf=self.conf or fallback.conf,
        )

    @property
    def effective_master(self) -> str:
        return self.master if self.master is not None else DEFAULT_MASTER

    @property
    def effective_workers(self) -> int:
        return self.workers or 0


@dataclass(frozen=True)
class ArtifactSettings:
    python: tuple[str, ...] = ()
    pyfiles: tuple[str, ...] = ()
    wheels: tuple[str, ...] = ()
    jars: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    archives: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    allowed_roots: tuple[Path, ...] = ()
    """Folders outside the project that the user's own config lets artifacts come from."""


@dataclass(frozen=True)
class EnvironmentSettings:
    """`[tool.sparkpush.environment]`: third-party packages for the server's Python workers."""

    requirements: tuple[str, ...] = ()
    requirements_files: tuple[str, ...] = ()
    project_dependencies: bool = False
    pip_args: tuple[str, ...] = ()
    project_requirements: tuple[str, ...] = ()
    """`[project].dependencies` of the same pyproject, when `project_dependencies` is true."""


@dataclass(frozen=True)
class PackageSettings:
    """`[tool.sparkpush.packages]`: JVM libraries by Maven coordinates, for every session."""

    coordinates: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    """`group:artifact` modules never fetched (as `spark.jars.excludes`)."""
    ivy_uris: tuple[str, ...] = ()
    """`ivy://group:artifact:version?...` entries of `artifacts.jars` (the Scala client's form)."""


@dataclass(frozen=True)
class LayerSettings:
    """`[tool.sparkpush.layers]`: generations as a clone of a base session plus the code."""

    enabled: bool = True
    code: tuple[str, ...] = ()
    """Artifact-name globs counted as code on top of the default split (`jars/myapp-*.jar`)."""


@dataclass(frozen=True)
class JavaUdf:
    class_name: str
    returns: str


@dataclass(frozen=True)
class Config:
    """The project's settings; paths are relative to `project_root`."""

    project_root: Path
    source: Path | None = None
    remote: str | None = None
    token_file: Path | None = None
    token_remote: str | None = None
    """The `remote` written in the same file as `token_file`: the token goes only there (or to
    the same host and port named by `--remote`/`SPARK_REMOTE`), never to another remote."""
    ca_file: Path | None = None
    user_id: str | None = None
    liveness_timeout: float | None = None
    """Seconds a run waits for the server's answer to a liveness question before it counts
    the server as hung (None: the default; 0: never)."""
    server: ServerSettings = field(default_factory=ServerSettings)
    conf: Mapping[str, str] = field(default_factory=dict)
    artifacts: ArtifactSettings = field(default_factory=ArtifactSettings)
    udf_modules: tuple[str, ...] = ()
    udf_names: Mapping[str, str] = field(default_factory=dict)
    java_udfs: Mapping[str, JavaUdf] = field(default_factory=dict)
    environment: EnvironmentSettings = field(default_factory=EnvironmentSettings)
    layers: LayerSettings = field(default_factory=LayerSettings)
    packages: PackageSettings = field(default_factory=PackageSettings)
    worker_output: bool = True
    """Show what the Python workers print and log (and let the sessions keep it)."""
    project_credentials: Mapping[str, str] = field(default_factory=dict)
    """`remote`, `token_file`, `ca_file` (and `environment.pip_args` as `pip_args`,
    `packages.repositories` as `repositories`) as the project's config writes them."""
    credentials_digest: str = ""
    """What `connect trust` records for `project_credentials` (see sparkpush.config.trust)."""
    trust: TrustState = TrustState.TRUSTED
    """Whether the user trusts `project_credentials` (`connect trust`)."""

    @property
    def untrusted_keys(self) -> tuple[str, ...]:
        """The project's credential keys that must not take effect yet."""
        if self.trust is TrustState.TRUSTED:
            return ()
        keys = (*CREDENTIAL_KEYS, *SOURCE_KEYS)
        return tuple(key for key in keys if key in self.project_credentials)


def find_pyproject(start: Path) -> Path | None:
    """The nearest `pyproject.toml` at or above `start`."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        try:
            if candidate.is_file():
                return candidate
        except PermissionError:  # a folder above we may not search holds no config of ours
            continue
    return None


def load_config(config_file: Path | None = None, cwd: Path | None = None) -> Config:
    """Load `--config FILE` if given, else the nearest pyproject.toml's `[tool.sparkpush]`."""
    cwd = (cwd or Path.cwd()).resolve()
    if config_file is not None:
        try:
            path = config_file.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop before Python 3.13
            raise ConfigError(f"config file {config_file} is a symlink loop") from None
        if not path.is_file():
            raise ConfigError(f"config file {config_file} does not exist")
        document = _read_toml(path)
        table = _sparkpush_table(document, path, explicit=True)
        return _with_user_config(_build(table, path, document))
    found = find_pyproject(cwd)
    if found is None:
        return _with_user_config(Config(project_root=cwd))
    document = _read_toml(found)
    table = _sparkpush_table(document, found, explicit=False)
    return _with_user_config(_build(table, found, document))


def user_config_file() -> Path:
    return user_config_dir() / USER_CONFIG_FILE


def _with_user_config(config: Config) -> Config:
    """The user's own settings under the project's: the project's keys win, gated by trust."""
    path = user_config_file()
    try:
        if not path.is_file():
            return config
    except PermissionError:
        raise ConfigError(
            f"{path}: cannot read: permission denied (check XDG_CONFIG_HOME)"
        ) from None
    table = _read_toml(path)
    _validate(table, _USER_SCHEMA, path, "")
    base = path.parent

    def as_path(value: str) -> Path:
        return base / Path(value).expanduser()

    roots = tuple(as_path(root) for root in table.get("artifact_roots", ()))
    users_token = "token_file" not in config.project_credentials and "token_file" in table
    return replace(
        config,
        remote=config.remote if "remote" in config.project_credentials else table.get("remote"),
        token_file=as_path(table["token_file"]) if users_token else config.token_file,
        token_remote=table.get("remote") if users_token else config.token_remote,
        ca_file=config.ca_file
        if "ca_file" in config.project_credentials or "ca_file" not in table
        else as_path(table["ca_file"]),
        user_id=config.user_id or table.get("user_id"),
        artifacts=replace(config.artifacts, allowed_roots=roots),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: not UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _sparkpush_table(document: dict[str, Any], path: Path, *, explicit: bool) -> dict[str, Any]:
    """`[tool.sparkpush]`; a `--config` file may also hold the keys at its top level."""
    tool = document.get("tool", {})
    if isinstance(tool, dict) and "sparkpush" in tool:
        table = tool["sparkpush"]
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: tool.sparkpush must be a table")
        return table
    if explicit and path.name != "pyproject.toml":
        return {k: v for k, v in document.items() if k != "tool"}
    return {}


def _validate(table: Mapping[str, Any], schema: Mapping[str, Any], path: Path, prefix: str) -> None:
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if key not in schema:
            raise ConfigError(f"{path}: unknown key '{dotted}'")
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: '{dotted}' must be a table")
            _validate(value, expected, path, f"{dotted}.")
        elif not _has_type(value, expected):
            raise ConfigError(f"{path}: '{dotted}' must be {expected}")


def _has_type(value: Any, expected: str) -> bool:
    if expected == _STR:
        return isinstance(value, str)
    if expected == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == _NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    if expected == _BOOL:
        return isinstance(value, bool)
    if expected == _STR_LIST:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if expected == _STR_TABLE:
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return isinstance(value, dict)


def _build(table: dict[str, Any], path: Path, document: Mapping[str, Any]) -> Config:
    _validate(table, _SCHEMA, path, "")
    root = path.parent

    def as_path(key: str) -> Path | None:
        value = table.get(key)
        return (root / Path(value).expanduser()) if value else None

    server = table.get("server", {})
    udf = table.get("udf", {})
    credentials = {key: table[key] for key in CREDENTIAL_KEYS if key in table}
    pip_args = table.get("environment", {}).get("pip_args")
    if pip_args:
        credentials["pip_args"] = " ".join(pip_args)
    master = server.get("master")
    if master is not None and not master_on_this_machine(master):
        credentials["master"] = master
    repositories = table.get("packages", {}).get("repositories")
    if repositories:
        credentials["repositories"] = " ".join(repositories)
    artifacts = {k: tuple(v) for k, v in table.get("artifacts", {}).items()}
    jars = artifacts.get("jars", ())
    ivy_uris = tuple(j for j in jars if j.startswith(IVY_SCHEME))
    if ivy_uris:
        artifacts["jars"] = tuple(j for j in jars if not j.startswith(IVY_SCHEME))
    ca_file = as_path("ca_file")
    digest = credentials_digest(credentials, ca_file)
    return Config(
        project_credentials=credentials,
        credentials_digest=digest,
        trust=trust_state(path, digest) if credentials else TrustState.TRUSTED,
        project_root=root,
        source=path,
        remote=table.get("remote"),
        token_file=as_path("token_file"),
        token_remote=table.get("remote") if "token_file" in table else None,
        ca_file=ca_file,
        user_id=table.get("user_id"),
        liveness_timeout=table.get("liveness_timeout"),
        server=_server(server, path),
        conf=dict(table.get("conf", {})),
        artifacts=ArtifactSettings(**artifacts),
        udf_modules=tuple(udf.get("modules", ())),
        udf_names=dict(udf.get("names", {})),
        java_udfs=_java_udfs(table.get("java_udfs", {}), path),
        environment=_environment(table.get("environment", {}), path, document),
        layers=_layers(table.get("layers", {})),
        packages=_packages(table.get("packages", {}), ivy_uris),
        worker_output=table.get("worker_output", True),
    )


def _packages(table: Mapping[str, Any], ivy_uris: tuple[str, ...]) -> PackageSettings:
    return PackageSettings(
        coordinates=tuple(table.get("coordinates", ())),
        repositories=tuple(table.get("repositories", ())),
        exclude=tuple(table.get("exclude", ())),
        ivy_uris=ivy_uris,
    )


def _environment(
    table: Mapping[str, Any], path: Path, document: Mapping[str, Any]
) -> EnvironmentSettings:
    project: tuple[str, ...] = ()
    if table.get("project_dependencies"):
        section = document.get("project")
        found = section.get("dependencies", []) if isinstance(section, dict) else None
        if not isinstance(found, list) or not all(isinstance(d, str) for d in found):
            raise ConfigError(
                f"{path}: 'environment.project_dependencies' needs [project] dependencies "
                "as a list of strings"
            )
        project = tuple(found)
    return EnvironmentSettings(
        requirements=tuple(table.get("requirements", ())),
        requirements_files=tuple(table.get("requirements_files", ())),
        project_dependencies=bool(table.get("project_dependencies", False)),
        pip_args=tuple(table.get("pip_args", ())),
        project_requirements=project,
    )


def _server(table: Mapping[str, Any], path: Path) -> ServerSettings:
    port = table.get("port")
    source = f"server.port in {path}" if port is not None else None
    return ServerSettings(
        port=port,
        master=table.get("master"),
        ui=table.get("ui"),
        workers=table.get("workers"),
        port_source=source,
        packages=tuple(table.get("packages", ())),
        conf=dict(table.get("conf", {})),
    )


def _layers(table: Mapping[str, Any]) -> LayerSettings:
    return LayerSettings(enabled=table.get("enabled", True), code=tuple(table.get("code", ())))


def _java_udfs(table: Mapping[str, Any], path: Path) -> dict[str, JavaUdf]:
    udfs: dict[str, JavaUdf] = {}
    for name, spec in table.items():
        where = f"{path}: 'java_udfs.{name}'"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a table with 'class' and 'returns'")
        unknown = set(spec) - {"class", "returns"}
        if unknown:
            raise ConfigError(f"{path}: unknown key 'java_udfs.{name}.{sorted(unknown)[0]}'")
        class_name, returns = spec.get("class"), spec.get("returns")
        if not isinstance(class_name, str) or not isinstance(returns, str):
            raise ConfigError(f"{where} needs string keys 'class' and 'returns'")
        udfs[name] = JavaUdf(class_name=class_name, returns=returns)
    return udfs
