"""An attached run's own session: a server-side clone of the project's generation.

What a script sets (confs, temp views, `spark.udf.register`, `SET`) then stays in its clone,
released at the end of the run; `connect sql` keeps using the generation itself. The clone is
recorded as unfinished (with this process's id, and the script's once known) before the server
creates it, so a run killed with `kill -9` has it released by the project's next sync, and never
while the script's process still runs. A server without CloneSession (Spark
4.0), or `[tool.sparkpush.layers] enabled = false`, runs on the generation as before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sparkpush.config.settings import Config
from sparkpush.progress.notify import Notify
from sparkpush.remote.server_facts import ServerFacts
from sparkpush.remote.target import Target
from sparkpush.submit.run_session import SessionLease, attached_session, new_run_tag
from sparkpush.sync.unfinished import add_unfinished_owner, clone_recorded, forget_unfinished

log = logging.getLogger(__name__)


@contextmanager
def run_session(
    config: Config,
    target: Target,
    session_id: str,
    server_side_session_id: str | None,
    notify: Notify,
) -> Iterator[SessionLease]:
    """A lease for the run: on a clone of the generation where the server can clone."""
    generation = attached_session(target, session_id, server_side_session_id)
    try:
        lease = _clone_of(config, target, generation)
    except BaseException:
        generation.client.close()
        raise
    if lease is None:
        yield generation
        return
    generation.client.close()
    notify(f"running on a clone of it (session {lease.session_id})")
    try:
        yield lease
    finally:
        if lease.released:
            forget_unfinished(config.project_root, lease.session_id)
        # else it stays recorded: the next sync releases it once this process is gone


def _clone_of(config: Config, target: Target, generation: SessionLease) -> SessionLease | None:
    if not config.layers.enabled:
        return None
    facts = ServerFacts(target, generation.client)
    made = facts.clone_or_none(
        lambda: clone_recorded(config.project_root, target, generation.client)
    )
    if made is None:
        log.info("attached run on the generation itself: the server cannot clone sessions")
        return None
    clone_id, server_side = made
    client = target.session(clone_id, server_side)
    return SessionLease(
        client=client,
        owned=True,
        run_tag=new_run_tag(),
        track_process=lambda pid: add_unfinished_owner(config.project_root, clone_id, pid),
    )
