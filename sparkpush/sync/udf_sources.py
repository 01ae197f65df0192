"""Whether the project's Python sources changed since UDFs were last registered.

Loading UDF modules costs a process and a re-import; when no `.py` file of the project (the
modules and every helper they could import) and no UDF setting changed, the registration on
the session is still the one of the code on disk and the load can be skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from sparkpush.artifacts.ignore import DefaultFilter
from sparkpush.artifacts.packing import stat_signature, walk_kept_files
from sparkpush.artifacts.stat_cache import RACY_WINDOW_NS
from sparkpush.config.settings import Config
from sparkpush.errors import UsageError


def udf_sources_signature(config: Config) -> str | None:
    """A digest of the project's `.py` files' stat data and the UDF settings; None when it
    cannot be trusted (a file written within the racy window, or a tree that cannot be read)."""
    try:
        files = [
            f
            for f in walk_kept_files(config.project_root, DefaultFilter(config.artifacts.exclude))
            if f.relative.endswith(".py")
        ]
        modules = [_stat_key(config.project_root / module) for module in config.udf_modules]
    except (UsageError, OSError):
        return None
    newest = max((f.stat_key[1] for f in files), default=0)
    if newest + RACY_WINDOW_NS > time.time_ns():
        return None  # may change again without its mtime moving
    settings = json.dumps(
        {
            "modules": list(config.udf_modules),
            "module_stats": modules,
            "names": dict(config.udf_names),
            "java": {n: [j.class_name, j.returns] for n, j in config.java_udfs.items()},
        },
        sort_keys=True,
    )
    return hashlib.sha256(f"{stat_signature(files)}\n{settings}".encode()).hexdigest()


def _stat_key(path: os.PathLike[str]) -> list[int]:
    info = os.stat(path)
    return [info.st_size, info.st_mtime_ns, info.st_ino]
