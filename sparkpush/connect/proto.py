"""PySpark's Spark Connect protocol classes, imported without PySpark's client start-up cost.

Importing `pyspark.sql.connect.proto` first runs `pyspark.sql.connect/__init__.py`, whose only
job is `check_dependencies()`: it imports pandas and `pyspark.testing` (about 0.5 s and
120 MB), none of which the protocol classes need. When nothing has imported that package yet,
a plain package module with the same `__path__` stands in for it: submodules (the protocol,
and later PySpark's own client in a forked child) import exactly as before; only the check is
skipped, and what it checks is in sparkpush's own dependencies.
"""

from __future__ import annotations

import os
import sys
import types

import pyspark.sql

_PACKAGE = "pyspark.sql.connect"

if _PACKAGE not in sys.modules:
    _folder = os.path.join(os.path.dirname(pyspark.sql.__file__), "connect")
    _stand_in = types.ModuleType(_PACKAGE, "Spark Connect client")
    _stand_in.__path__ = [_folder]
    _stand_in.__file__ = os.path.join(_folder, "__init__.py")
    _stand_in.__package__ = _PACKAGE
    sys.modules[_PACKAGE] = _stand_in
    pyspark.sql.connect = _stand_in  # type: ignore[attr-defined,unused-ignore]

from pyspark.sql.connect.proto import base_pb2 as pb  # noqa: E402
from pyspark.sql.connect.proto import base_pb2_grpc as pb_grpc  # noqa: E402
from pyspark.sql.connect.proto import commands_pb2 as commands  # noqa: E402
from pyspark.sql.connect.proto import expressions_pb2 as expressions  # noqa: E402
from pyspark.sql.connect.proto import relations_pb2 as relations  # noqa: E402
from pyspark.sql.connect.proto import types_pb2 as data_types  # noqa: E402

__all__ = ["commands", "data_types", "expressions", "pb", "pb_grpc", "relations"]
