"""`preview_sync`: what `sync_project` would do, changing nothing on the server or on disk.

It collects with the pack cache read-only (packs it lacks are built in memory) and without
saving the stat cache, reads the generation without the project lock (state files are replaced
atomically), asks the server only whether the current session is alive, and loads UDF modules
in the isolated loader attached to that session with registration turned off, to know their
fingerprints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkpush.artifacts.collect import collect_artifacts
from sparkpush.artifacts.layers import Layer
from sparkpush.artifacts.pack_cache import PackCache
from sparkpush.artifacts.planner import PlanAction, SyncPlan
from sparkpush.artifacts.stat_cache import StatCache, stat_cache_path
from sparkpush.config.settings import Config
from sparkpush.connect.session_client import default_user_id
from sparkpush.environment.status import preview_environment
from sparkpush.packages.status import PackagePreview, preview_packages
from sparkpush.remote.target import Target
from sparkpush.state.folders import state_dir
from sparkpush.sync.engine import liveness_asker, usable_current
from sparkpush.sync.generation import Generation, load_generation
from sparkpush.sync.layering import layout_of
from sparkpush.sync.plan import Liveness, Question, decide
from sparkpush.sync.udf_sources import udf_sources_signature
from sparkpush.udf.loader_messages import LoadRequest
from sparkpush.udf.loading import Loader, loader_environment, run_loader
from sparkpush.udf.registration import has_udfs


@dataclass(frozen=True)
class SyncPreview:
    action: PlanAction
    reasons: tuple[str, ...]
    upload: tuple[str, ...]
    bytes: int
    udfs: tuple[str, ...]
    """SQL names of the UDFs the sync would register or re-register."""
    warnings: tuple[str, ...]
    layer: Layer | None = None
    """With layers, the lowest layer that changed: a new base, or a clone of the current one."""
    packages: PackagePreview | None = None
    """Whether the packages would be resolved first, and which coordinates changed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": True,
            "action": self.action.value,
            "reasons": list(self.reasons),
            "upload": list(self.upload),
            "bytes": self.bytes,
            "udfs": list(self.udfs),
            "layer": self.layer.value if self.layer is not None else None,
            "packages": self.packages.to_json() if self.packages is not None else None,
        }


def preview_sync(
    config: Config, target: Target | None, *, loader: Loader | None = None
) -> SyncPreview:
    """The plan a sync would follow now; `target` None: no server to ask (none running)."""
    root = config.project_root
    packs = PackCache(state_dir(root) / "packs", read_only=True)
    collected = collect_artifacts(
        config.artifacts, root, StatCache.load(stat_cache_path(root)), packs
    )
    generation = load_generation(root)
    current = usable_current(generation, target) if target is not None else None
    environment = preview_environment(config, collected.platform_wheels)
    packages = preview_packages(config)
    sizes = {
        **{n: d.size for n, d in collected.by_name.items()},
        **environment.sizes,
        **packages.sizes,
    }
    layout = layout_of(config, collected.artifacts, {**environment.hashes, **packages.hashes})
    # `current` was found alive just now; the base is asked only if the plan uses it
    liveness = Liveness(current=True) if current is not None else Liveness()
    ask = liveness_asker(target, current) if target is not None else _nothing_to_ask
    plan = decide(config.layers.enabled, layout, current, ask, liveness).plan
    udfs, udf_warnings = _udfs_to_register(config, target, generation, current, plan, loader)
    return SyncPreview(
        action=plan.action,
        reasons=plan.reasons,
        upload=plan.upload,
        bytes=sum(sizes[name] for name in plan.upload),
        udfs=udfs,
        warnings=(*collected.warnings, *environment.warnings, *packages.warnings, *udf_warnings),
        layer=plan.layer,
        packages=packages if packages.hashes or packages.resolve else None,
    )


def _udfs_to_register(
    config: Config,
    target: Target | None,
    generation: Generation | None,
    current: Generation | None,
    plan: SyncPlan,
    loader: Loader | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, warnings): the UDFs a sync would send, found as the sync would find them."""
    if not has_udfs(config):
        return (), ()
    fresh = plan.action is PlanAction.NEW_GENERATION
    if not fresh and current is not None and _udf_sources_unchanged(config, current):
        return (), ()  # the sync would skip loading: nothing could have changed
    if target is None or current is None:
        # Loading a module needs a session (return types are parsed there) and creating one
        # would change the server: name what is known instead.
        last = generation.registered_udfs() if generation is not None else []
        known = {u.name for u in last} | set(config.java_udfs)
        return tuple(sorted(known)), (
            "UDF modules not loaded (no live session to load them in): "
            "the names are the last registered ones",
        )
    known_fingerprints = {} if fresh else {u.name: u.fingerprint for u in current.registered_udfs()}
    request = LoadRequest(
        project_root=str(config.project_root),
        modules=tuple(config.udf_modules),
        names=dict(config.udf_names),
        java_udfs={n: (j.class_name, j.returns) for n, j in config.java_udfs.items()},
        known=known_fingerprints,
        check_python=False,
        register=False,
    )
    env = loader_environment(target, current.session_id, target.spec.user_id or default_user_id())
    # the loader's log lives in the state folder, which a dry run leaves as it found it
    outcome = run_loader(request, env, Path(os.devnull), loader=loader)
    return tuple(sorted(u.name for u in outcome.udfs if u.registered)), ()


def _udf_sources_unchanged(config: Config, current: Generation) -> bool:
    area = current.udfs
    if area.session_id != current.session_id or not area.worker_python:
        return False
    sources = udf_sources_signature(config)
    return sources is not None and area.sources == sources


def _nothing_to_ask(question: Question) -> bool:
    raise AssertionError(f"no server, so no current generation to ask about: {question}")
