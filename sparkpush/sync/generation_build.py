"""A new generation, built complete before it becomes current (the old one keeps serving).

A code change clones the current base and sends the code layer; anything else starts from a
new session with the base layer and the confs, which becomes the base of a clone that gets the
code layer, or, where the server cannot clone (or layers are off), gets the code layer itself.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from sparkpush.artifacts.layers import Layer
from sparkpush.artifacts.local_artifact import DesiredArtifact
from sparkpush.artifacts.planner import SyncPlan, upload_order
from sparkpush.artifacts.upload import UploadedArtifact
from sparkpush.connect.session import Session
from sparkpush.remote.server_facts import CLONE_SESSION, ServerFacts
from sparkpush.sync.context import SyncContext
from sparkpush.sync.generation import BaseSession, Generation, StoredArtifact, save_generation
from sparkpush.sync.layering import Layout
from sparkpush.sync.plan import Decision
from sparkpush.sync.session_build import SessionBuild

log = logging.getLogger(__name__)


def build_generation(
    context: SyncContext,
    previous: Generation | None,
    decision: Decision,
    desired: Sequence[DesiredArtifact],
    layout: Layout,
) -> tuple[Generation, tuple[UploadedArtifact, ...]]:
    """Build a complete new generation; only then make it current (the old one keeps serving).

    `previous`: the recorded generation (the new number and the sessions to release follow
    from it). A code change clones the base of the `decision`'s current generation and sends
    the code layer; otherwise a new session gets the base layer and confs, and, where the
    server can clone, becomes the base of a clone that gets the code layer (else it gets the
    code itself: one session, as on Spark 4.0).
    """
    plan, current = decision.plan, decision.current
    number = (previous.number + 1) if previous is not None else 1
    by_name = {d.name: d for d in desired}
    build = SessionBuild(context, by_name)
    base: BaseSession | None
    try:
        if plan.layer is Layer.CODE and current is not None and current.base is not None:
            session, base = _clone_of_base(build, current.base, layout, plan)
        else:
            session, base = _from_scratch(build, layout, layered=plan.layer is Layer.BASE)
        uploaded = {u.name: u for u in build.uploaded}
        entries = {
            n: stored_artifact(uploaded[n], by_name[n], number)
            if n in uploaded
            else _kept_entry(current, n)
            for n in layout.hashes
        }
        generation = Generation(
            session_id=session.session_id,
            number=number,
            remote=context.remote,
            server_side_session_id=session.server_side_session_id,
            entries=entries,
            pending_release=pending_after_switch(previous, context.remote, base),
            base=base,
        )
        if context.prepare_generation is not None:
            generation = context.prepare_generation(session, generation)
    except BaseException:
        build.abandon()
        raise
    finally:
        build.close()
    save_generation(context.root, generation)
    build.finished()
    return generation, tuple(build.uploaded)


def _clone_of_base(
    build: SessionBuild, base: BaseSession, layout: Layout, plan: SyncPlan
) -> tuple[Session, BaseSession]:
    """A clone of the current base with the code layer; new base artifacts join the base first
    (a pure addition), so later clones have them too."""
    joining = [n for n in plan.upload if n in layout.base]
    with build.context.target.session(base.session_id, base.server_side_session_id) as base_session:
        build.upload(base_session, joining)
        clone = build.clone(base_session, [*base.names, *joining])
    build.upload(clone, [n for n in plan.upload if n not in layout.base])
    return clone, replace(base, names=tuple(sorted({*base.names, *joining})))


def _from_scratch(
    build: SessionBuild, layout: Layout, *, layered: bool
) -> tuple[Session, BaseSession | None]:
    """A new session with the base layer and confs; then a clone of it with the code layer,
    or, where the server cannot clone (or layers are off), the code layer in it too."""
    session = build.new_session()
    if not layered:
        build.upload(session, upload_order(layout.hashes))
        session.set_conf(layout.conf)
        _confirm(session)
        return session, None
    facts = ServerFacts(build.context.target, session)
    if facts.known(CLONE_SESSION) is False:
        build.upload(session, upload_order(layout.hashes))
        session.set_conf(layout.conf)
        return session, None
    build.upload(session, layout.base_order())
    session.set_conf(layout.conf)
    clone = facts.clone_or_none(lambda: build.clone(session, layout.base_order()))
    if clone is None:
        log.info("no layers on this server: the code goes into the base session")
        build.upload(session, layout.code_order())
        return session, None
    build.upload(clone, layout.code_order())
    return clone, layout.base_record(session.session_id, session.server_side_session_id)


def _confirm(session: Session) -> None:
    """Make sure the server's id for the new session is known (the next sync echoes it to
    notice a restart); an upload's or a conf's answer carries it already, saving a call."""
    if session.server_side_session_id is None:
        session.spark_version()


def _kept_entry(current: Generation | None, name: str) -> StoredArtifact:
    """A base artifact the clone got from its base: recorded as the base got it."""
    assert current is not None
    return current.entries[name]


def pending_after_switch(
    previous: Generation | None, remote: str, base: BaseSession | None
) -> tuple[str, ...]:
    """Sessions to release once the new generation is current: the old one, then its base if
    the new generation has another, and any leftovers."""
    if previous is None:
        return ()
    if previous.remote != remote:
        return ()  # another server: its sessions are not ours to reach from here
    pending = [*previous.pending_release, previous.session_id]
    old_base = previous.base
    if old_base is not None and (base is None or base.session_id != old_base.session_id):
        pending.append(old_base.session_id)
    return tuple(pending)


def stored_artifact(
    uploaded: UploadedArtifact, desired: DesiredArtifact, generation: int
) -> StoredArtifact:
    # The hash recorded is the one of the bytes actually sent: if the file changed between
    # planning and sending, the next sync sees the difference and rebuilds.
    return StoredArtifact(
        name=uploaded.name,
        sha256=uploaded.sha256,
        size=uploaded.size,
        source=desired.shown_source,
        generation=generation,
    )
