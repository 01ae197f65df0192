"""Which layer an artifact belongs to: the base (rarely changes, weighs most) or the code.

A generation is a server-side clone of a base session plus the code layer, so a code change
sends only the code. The base holds jars, archives (the environment), files, wheels and the
session confs; the code holds the project's Python zips and pyfiles, class trees and their
jars (`jars/classes-*.jar`), plus whatever `[tool.sparkpush.layers] code` names.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from enum import Enum
from fnmatch import fnmatchcase

from sparkpush.artifacts.artifact_kind import ArtifactKind

CLASS_TREE_JARS = "jars/classes-*.jar"
"""How a class tree sent as one jar is named: code, like the tree's loose classes."""
WHEEL_SUFFIX = ".whl"


class Layer(Enum):
    BASE = "base"
    CODE = "code"


def layer_of(name: str, source: str, code_globs: Iterable[str] = ()) -> Layer:
    """The layer of artifact `name` sent from `source`; `code_globs` add names to the code."""
    if any(fnmatchcase(name, glob) for glob in (CLASS_TREE_JARS, *code_globs)):
        return Layer.CODE
    head = name.split("/", 1)[0]
    if head == ArtifactKind.CLASS.prefix:
        return Layer.CODE
    # a wheel is sent as pyfiles/NAME.zip, but it is a dependency, not the project's code
    if head == ArtifactKind.PYFILE.prefix and not source.endswith(WHEEL_SUFFIX):
        return Layer.CODE
    return Layer.BASE


def conf_digest(conf: Mapping[str, str]) -> str:
    """A hash of the session confs: the generation record keeps it instead of their values."""
    text = json.dumps(sorted(conf.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
