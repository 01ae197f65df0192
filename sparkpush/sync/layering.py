"""The two layers of a generation as the sync sees them: what is wanted, what is there."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from sparkpush.artifacts.layers import Layer, conf_digest, layer_of
from sparkpush.artifacts.local_artifact import DesiredArtifact
from sparkpush.artifacts.planner import LayeredSet, upload_order
from sparkpush.config.settings import Config
from sparkpush.environment.session_parts import environment_conf
from sparkpush.sync.generation import BaseSession, Generation
from sparkpush.workerout.settings import worker_output_conf


@dataclass(frozen=True)
class Layout:
    """The desired artifacts split into layers, and the confs the base session gets."""

    base: Mapping[str, str]
    code: Mapping[str, str]
    conf: Mapping[str, str]

    @property
    def hashes(self) -> dict[str, str]:
        return {**self.base, **self.code}

    @property
    def layered(self) -> LayeredSet:
        return LayeredSet(self.base, self.code, conf_digest(self.conf))

    def base_order(self) -> tuple[str, ...]:
        return upload_order(self.base)

    def code_order(self) -> tuple[str, ...]:
        return upload_order(self.code)

    def base_record(self, session_id: str, server_side_session_id: str | None) -> BaseSession:
        return BaseSession(
            session_id, server_side_session_id, tuple(sorted(self.base)), conf_digest(self.conf)
        )


def session_conf(config: Config, artifact_names: Iterable[str]) -> dict[str, str]:
    """The confs every generation gets, set once on its base (or on its own session): the
    environment's Python (when its archive is sent), worker output kept (unless the config
    turns it off), then the project's, which win."""
    return {
        **environment_conf(artifact_names),
        **worker_output_conf(config.worker_output),
        **config.conf,
    }


def layout_of(
    config: Config,
    desired: Sequence[DesiredArtifact],
    environment: Mapping[str, str] = MappingProxyType({}),
) -> Layout:
    """`environment`: the environment's archive and the package jars, name -> hash, when they
    are not in `desired` (a dry run knows their hashes from the locks without building or
    resolving); always base."""
    base: dict[str, str] = dict(environment)
    code: dict[str, str] = {}
    for artifact in desired:
        layer = layer_of(artifact.name, str(artifact.source), config.layers.code)
        (code if layer is Layer.CODE else base)[artifact.name] = artifact.sha256
    return Layout(base, code, session_conf(config, [*base, *code]))


def layered_current(generation: Generation, base: BaseSession) -> LayeredSet:
    """The current generation's artifacts split as its base recorded them."""
    names = set(base.names)
    hashes = generation.hashes
    return LayeredSet(
        base={n: h for n, h in hashes.items() if n in names},
        code={n: h for n, h in hashes.items() if n not in names},
        conf=base.conf,
    )
