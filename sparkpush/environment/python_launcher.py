"""The environment's `bin/python`: the workers' own interpreter, with the packages first."""

from __future__ import annotations

import shlex

LAUNCHER_PATH = "bin/python"
SITE_PACKAGES = "site-packages"


def launcher_text(executable: str) -> str:
    """A POSIX shell script: prepend `<its folder>/../site-packages` to PYTHONPATH and exec.

    The interpreter is the workers' own `sys.executable` as the probe found it (a venv's
    python keeps its venv); if an executor lacks that path, `python3` from its PATH.
    """
    real = shlex.quote(executable)
    return (
        "#!/bin/sh\n"
        "# sparkpush environment: the workers' Python with this archive's packages first\n"
        'here=$(cd "$(dirname "$0")/.." && pwd)\n'
        f'PYTHONPATH="$here/{SITE_PACKAGES}${{PYTHONPATH:+:$PYTHONPATH}}"\n'
        "export PYTHONPATH\n"
        f'if [ -x {real} ]; then exec {real} "$@"; fi\n'
        'exec python3 "$@"\n'
    )
