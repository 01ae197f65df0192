"""The isolated UDF loader: attach to the session, import the modules, register what changed.

Run as `python -m sparkpush.udf.loader_child` with a `LoadRequest` (JSON) on stdin, the
session's URL in SPARK_REMOTE and its token, if any, in SPARK_CONNECT_AUTHENTICATE_TOKEN
(never in argv). Events go to the original stdout, one JSON object a line; the user's modules
print to stderr. The warm loader calls `run` in a freshly forked child instead.

Nothing is registered before every module imported and every UDF pickled: a broken module
leaves the session as it was.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import inspect
import json
import os
import sys
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import IO, Any

from sparkpush.progress.phases import mark
from sparkpush.remote.worker_target import worker_python_from_error
from sparkpush.udf.fingerprint import java_udf_fingerprint, python_udf_fingerprint
from sparkpush.udf.loader_messages import (
    LoadedUdf,
    LoaderEvent,
    LoaderEventKind,
    LoadOutcome,
    LoadProblem,
    LoadRequest,
)
from sparkpush.udf.once_answers import OnceAnswers
from sparkpush.udf.python_version import local_python, version_mismatch
from sparkpush.udf.udf_kind import UdfKind, kind_of_eval_type
from sparkpush.workerout.pickle_hook import install_pickle_hook

Emit = Callable[[LoaderEvent], None]

_ARROW_UDF_CONF = "spark.sql.execution.pythonUDF.arrow.enabled"
REGISTER_THREADS = 8
EXIT_PROBLEM = 3
"""The child reported a problem event and stopped."""


class _Stop(Exception):
    """A problem was reported; unwind to `run` and exit."""


@dataclass
class _Found:
    name: str
    obj: Any
    kind: UdfKind
    return_type: str
    source: str
    line: int | None
    fingerprint: str = ""


def main() -> int:
    result = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the user's modules print goes to stderr, not into the protocol
    request = LoadRequest.from_json(json.loads(sys.stdin.read()))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    return run(request, result)


def prepare() -> None:
    """What every load does that depends on nothing of the request nor the user's: done by
    a spare fork (`loader_fork.SpareFork`) while it waits for its load."""
    install_pickle_hook()
    _installed_dirs()
    _start_grpc()


def _start_grpc() -> None:
    """The first gRPC channel in a forked process costs tens of milliseconds (gRPC's core
    starts again after a fork), later ones well under one: one is made and closed here. It
    never connects: a channel connects only at its first call."""
    import grpc

    token = grpc.access_token_call_credentials("unused")
    credentials = grpc.composite_channel_credentials(grpc.local_channel_credentials(), token)
    grpc.secure_channel("localhost:1", credentials).close()


def run(request: LoadRequest, out: IO[str]) -> int:
    """Load and register; returns the process exit code (0 done, EXIT_PROBLEM reported)."""

    def emit(event: LoaderEvent) -> None:
        out.write(json.dumps(event.to_json()) + "\n")
        out.flush()

    emit(LoaderEvent(LoaderEventKind.STARTED, pid=os.getpid()))
    os.environ.setdefault("SPARK_CONNECT_MODE_ENABLED", "1")
    root = Path(request.project_root)
    os.chdir(root)
    try:
        mark("child.start")
        spark, ask_ahead = _attach()
        mark("child.attached")
        if request.modules:
            ask_ahead(request.return_types)
        mark("child.asked_ahead")
        worker = _check_python(spark, emit) if request.check_python and request.modules else None
        _compile_project_modules_from_source(root)
        mark("child.hooks")
        modules = [_import(root, relative, emit) for relative in request.modules]
        mark("child.imported")
        _pickle_project_modules_by_value(root)
        mark("child.by_value")
        found = _find_udfs(root, modules, request.names, emit)
        for udf in found:
            udf.fingerprint = _fingerprint(udf, emit)
        mark("child.fingerprinted")
        # what a registered UDF prints reaches the session's worker log whole (a fingerprint
        # is of the bare function: it does not change with this)
        install_pickle_hook()
        loaded = _register(spark, found, request, emit)
        mark("child.registered")
        dropped = (
            _drop_removed(spark, request, {u.name for u in loaded}) if request.register else []
        )
    except _Stop:
        return EXIT_PROBLEM
    except Exception as exc:  # our bug or the server's: one line for the user, details below
        traceback.print_exc()
        message = f"UDF loader failed: {type(exc).__name__}: {exc}"
        emit(LoaderEvent(LoaderEventKind.PROBLEM, problem=LoadProblem("loader", message=message)))
        return EXIT_PROBLEM
    outcome = LoadOutcome(tuple(loaded), worker, tuple(dropped))
    emit(LoaderEvent(LoaderEventKind.DONE, outcome=outcome))
    return 0


def _problem(emit: Emit, problem: LoadProblem) -> _Stop:
    emit(LoaderEvent(LoaderEventKind.PROBLEM, problem=problem))
    return _Stop()


AskAhead = Callable[[tuple[str, ...]], None]


def _attach() -> tuple[Any, AskAhead]:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(os.environ["SPARK_REMOTE"]).getOrCreate()
    # The session belongs to the project: closing the loader must never release it.
    spark.release_session_on_close = False  # type: ignore[attr-defined]
    return spark, _answer_repeated_lookups_once(spark)


def _answer_repeated_lookups_once(spark: Any) -> AskAhead:
    """Each `@udf("bigint")` costs two server round trips (the DDL string is parsed by the
    server, and the Arrow default is read from the session's conf); within one load the
    answers cannot change, so a module of 50 UDFs asks each question once.

    Returns `ask_ahead(return_types)`: asks now, all at once, the Arrow default and (a guess)
    the return types the last load saw, so that their round trips and the connection's setup
    overlap instead of adding up, one after the other, while the modules are decorated."""
    from pyspark.sql.connect.conf import RuntimeConf

    answers = OnceAnswers()
    parse = spark._parse_ddl
    spark._parse_ddl = lambda text: answers.ask(("ddl", text), lambda: parse(text))
    original = RuntimeConf.get

    def get(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
        if key != _ARROW_UDF_CONF or args or kwargs:
            return original(self, key, *args, **kwargs)
        return answers.ask(("conf", key), lambda: original(self, key))

    RuntimeConf.get = get  # type: ignore[method-assign]

    def ask_ahead(return_types: tuple[str, ...]) -> None:
        conf = spark.conf
        answers.ask_ahead(("conf", _ARROW_UDF_CONF), lambda: original(conf, _ARROW_UDF_CONF))
        for text in return_types:
            answers.ask_ahead(("ddl", text), functools.partial(parse, text))

    return ask_ahead


def _check_python(spark: Any, emit: Emit) -> str:
    """The workers' Python version; a mismatch stops the load with both versions named."""
    from pyspark.sql.functions import udf
    from pyspark.sql.types import StringType

    # A lambda: pickled by value, so the probe needs nothing of ours on the workers.
    probe = udf(lambda _: ".".join(map(str, __import__("sys").version_info[:2])), StringType())
    try:
        worker = str(spark.range(1).select(probe("id")).first()[0])
    except Exception as exc:
        found = worker_python_from_error(str(exc))
        if found is None:
            raise _problem(
                emit,
                LoadProblem(
                    kind="python_version",
                    message=f"cannot find the server workers' Python version: {exc}",
                ),
            ) from None
        worker = found
    mismatch = version_mismatch(local_python(), worker)
    if mismatch is not None:
        raise _problem(emit, LoadProblem(kind="python_version", message=mismatch))
    emit(LoaderEvent(LoaderEventKind.PYTHON, worker=worker))
    return worker


def _import(root: Path, relative: str, emit: Emit) -> ModuleType:
    """Import one module the way `python path/to/mod.py` finds its neighbours."""
    path = (root / relative).resolve()
    emit(LoaderEvent(LoaderEventKind.IMPORTING, file=relative))
    if not path.is_file():
        raise _problem(emit, LoadProblem(kind="missing", file=relative))
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(
        name, path, loader=_FreshSourceLoader(name, str(path))
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise _problem(
            emit,
            LoadProblem(
                kind="syntax",
                file=_relative(root, exc.filename) if exc.filename else relative,
                line=exc.lineno,
                error_type=type(exc).__name__,
                message=str(exc.msg),
            ),
        ) from None
    except SystemExit as exc:
        code = "" if exc.code is None else repr(exc.code)
        raise _problem(emit, LoadProblem(kind="exit", file=relative, message=code)) from None
    except BaseException as exc:
        file, line = _innermost_project_frame(root, exc, relative)
        raise _problem(
            emit,
            LoadProblem(
                kind="import",
                file=file,
                line=line,
                error_type=type(exc).__name__,
                message=str(exc),
            ),
        ) from None
    emit(LoaderEvent(LoaderEventKind.IMPORTED, file=relative))
    return module


class _FreshSourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles from source every time, never from a .pyc.

    A .pyc is trusted when the source's mtime (in whole seconds) and size match, so an edit
    that keeps the size within the same second would load the old code.
    """

    def get_code(self, fullname: str) -> CodeType:
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


def _compile_project_modules_from_source(root: Path) -> None:
    """Imports from folders of the project use `_FreshSourceLoader`; the rest as usual."""
    from importlib.machinery import (
        BYTECODE_SUFFIXES,
        EXTENSION_SUFFIXES,
        SOURCE_SUFFIXES,
        ExtensionFileLoader,
        FileFinder,
        SourcelessFileLoader,
    )

    fresh = FileFinder.path_hook(
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (_FreshSourceLoader, SOURCE_SUFFIXES),
        (SourcelessFileLoader, BYTECODE_SUFFIXES),
    )

    def hook(entry: str) -> Any:
        folder = os.path.join(entry or os.getcwd(), "__init__.py")
        if not os.path.isdir(entry or os.getcwd()) or not _is_project_file(root, folder):
            raise ImportError("not a project folder")
        return fresh(entry)

    sys.path_hooks.insert(0, hook)
    sys.path_importer_cache.clear()


def _module_name(path: Path) -> str:
    """The file's stem, as `python path` would import its neighbours; unique if taken."""
    name = path.stem
    taken = sys.modules.get(name)
    if taken is None or getattr(taken, "__file__", None) == str(path):
        return name
    return f"{name}_{abs(hash(str(path))):x}"


def _innermost_project_frame(
    root: Path, exc: BaseException, fallback: str
) -> tuple[str, int | None]:
    """Where in the project's own code the exception was raised (helpers included)."""
    found: tuple[str, int | None] = (fallback, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if _is_project_file(root, frame.filename):
            found = (_relative(root, frame.filename), frame.lineno)
    return found


def _relative(root: Path, filename: str) -> str:
    try:
        return Path(filename).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename


@functools.cache
def _installed_dirs() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    return tuple(Path(paths[key]).resolve() for key in ("purelib", "platlib", "stdlib"))


@functools.lru_cache(maxsize=8)
def _root_forms(root: Path) -> tuple[str, ...]:
    return tuple({os.path.abspath(root), os.path.realpath(root)})


def _is_project_file(root: Path, filename: str | None, installed: tuple[Path, ...] = ()) -> bool:
    """Under the project root and not an installed package (a venv inside the project)."""
    if not filename:
        return False
    absolute = os.path.abspath(filename)
    # a string test first: this runs for every module in sys.modules
    if not any(absolute.startswith(form + os.sep) for form in _root_forms(root)):
        return False
    path = Path(filename).resolve()
    if any(part in ("site-packages", "dist-packages") for part in path.parts):
        return False
    return not any(path.is_relative_to(folder) for folder in installed or _installed_dirs())


def _pickle_project_modules_by_value(root: Path) -> None:
    """The project's own modules travel inside the pickles; installed packages by reference."""
    from pyspark import cloudpickle

    installed = _installed_dirs()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if _is_project_file(root, file, installed):
            cloudpickle.register_pickle_by_value(module)


def _is_udf_object(obj: object) -> bool:
    if isinstance(obj, (type, ModuleType)):
        return False
    try:
        return isinstance(getattr(obj, "evalType", None), int) and hasattr(obj, "func")
    except Exception:  # an object whose attributes raise is not one of PySpark's
        return False


def _find_udfs(
    root: Path, modules: list[ModuleType], names: Mapping[str, str], emit: Emit
) -> list[_Found]:
    by_name: dict[str, _Found] = {}
    for module in modules:
        for attr, obj in vars(module).items():
            if not _is_udf_object(obj):
                continue
            name = names.get(attr, attr)
            earlier = by_name.get(name)
            if earlier is not None:
                if earlier.obj is obj:
                    continue
                raise _problem(
                    emit,
                    LoadProblem(
                        kind="duplicate",
                        name=name,
                        message=(
                            f"UDF name '{name}' is defined twice: {earlier.source} and "
                            f"{_source(root, obj.func)[0]}"
                        ),
                    ),
                )
            source, line = _source(root, obj.func)
            by_name[name] = _Found(
                name=name,
                obj=obj,
                kind=kind_of_eval_type(obj.evalType),
                return_type=_return_type_text(obj),
                source=source,
                line=line,
            )
    return list(by_name.values())


def _source(root: Path, func: Any) -> tuple[str, int | None]:
    """`file.py:line` of the UDF's function or UDTF class, relative to the project."""
    try:
        file = inspect.getsourcefile(func) or "?"
        line = inspect.getsourcelines(func)[1] if isinstance(func, type) else None
        if line is None:
            line = func.__code__.co_firstlineno
    except (TypeError, OSError, AttributeError):
        return "?", None
    relative = _relative(root, file)
    return f"{relative}:{line}", line


def _return_type_text(obj: Any) -> str:
    return_type = obj.returnType
    if return_type is None:
        return "(from analyze)"
    if hasattr(return_type, "data_type_string"):  # a UDTF's not yet parsed DDL string
        return str(return_type.data_type_string)
    return str(return_type.simpleString())


def _fingerprint(udf: _Found, emit: Emit) -> str:
    from pyspark import cloudpickle
    from pyspark.cloudpickle import cloudpickle as internals

    try:
        pickled = cloudpickle.dumps(udf.obj.func)
    except Exception as exc:
        file = udf.source.rsplit(":", 1)[0]
        raise _problem(
            emit,
            LoadProblem(kind="pickle", file=file, line=udf.line, name=udf.name, message=str(exc)),
        ) from None
    volatile = list(getattr(internals, "_DYNAMIC_CLASS_TRACKER_BY_ID", {}).keys())
    return python_udf_fingerprint(pickled, udf.return_type, int(udf.obj.evalType), volatile)


def _register(spark: Any, found: list[_Found], request: LoadRequest, emit: Emit) -> list[LoadedUdf]:
    """Register what changed, a few at a time (each is one round trip), Python then Java."""
    emit(LoaderEvent(LoaderEventKind.REGISTERING))
    changed = {u.name for u in found if request.known.get(u.name) != u.fingerprint}
    to_send = [u for u in found if u.name in changed] if request.register else []
    with ThreadPoolExecutor(max_workers=REGISTER_THREADS) as pool:
        failures = list(pool.map(lambda u: _register_one(spark, u), to_send))
    for udf, failure in zip(to_send, failures, strict=True):
        if failure is not None:
            file = udf.source.rsplit(":", 1)[0]
            raise _problem(
                emit,
                LoadProblem("register", file, udf.line, udf.name, message=failure),
            )
    loaded = [
        LoadedUdf(u.name, u.kind.value, u.return_type, u.source, u.fingerprint, u.name in changed)
        for u in found
    ]
    for name, (class_name, returns) in request.java_udfs.items():
        fingerprint = java_udf_fingerprint(class_name, returns)
        is_new = request.known.get(name) != fingerprint
        if is_new and request.register:
            try:
                spark.udf.registerJavaFunction(name, class_name, returns)
            except Exception as exc:
                raise _problem(
                    emit, LoadProblem(kind="java", name=name, message=str(exc))
                ) from None
        loaded.append(LoadedUdf(name, UdfKind.JAVA.value, returns, class_name, fingerprint, is_new))
    return loaded


def _register_one(spark: Any, udf: _Found) -> str | None:
    """None when registered, else the error's text."""
    try:
        if udf.kind is UdfKind.UDTF:
            spark.udtf.register(udf.name, udf.obj)
        else:
            spark.udf.register(udf.name, udf.obj)
    except Exception as exc:
        return str(exc)
    return None


def _drop_removed(spark: Any, request: LoadRequest, current: set[str]) -> list[str]:
    """Functions registered before whose definition is gone are dropped from the session."""
    dropped: list[str] = []
    for name in sorted(set(request.known) - current):
        try:
            spark.sql(f"DROP TEMPORARY FUNCTION IF EXISTS `{name}`").collect()
            dropped.append(name)
        except Exception as exc:  # a leftover function is harmless; say so and go on
            print(f"could not drop UDF {name}: {exc}", file=sys.stderr)
    return dropped


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: open gRPC channels can hang it (see the notes).
    os._exit(code)
