"""What a long-lived process (the daemon) keeps between syncs: the artifacts' caches and the
parsed generation record. One is owned by the daemon and passed to every sync it runs; a
one-shot command makes one for its own call."""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkpush.artifacts.artifact_cache import ArtifactCache
from sparkpush.artifacts.parsed_files import ParsedFiles
from sparkpush.remote.target import Target
from sparkpush.sync.generation import Generation


@dataclass
class ProcessCache(ArtifactCache):
    generations: ParsedFiles[Generation] = field(default_factory=ParsedFiles)
    builtin_functions: tuple[Target, frozenset[str]] | None = None
    """The server's builtin function names, as listed through that very `Target` object (the
    daemon makes a new one whenever the server may have changed): each UDF edit checks its
    names against them without a round trip for the server's version."""
