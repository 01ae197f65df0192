"""The sessions a new generation is built from: each recorded as unfinished before the server
creates it, all released if the build fails, all forgotten once the generation is current."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from sparkpush.artifacts.local_artifact import DesiredArtifact
from sparkpush.artifacts.upload import UploadedArtifact, upload_artifacts
from sparkpush.connect.connection_string import new_session_id
from sparkpush.connect.rpc_errors import SESSION_GONE
from sparkpush.connect.session import Session
from sparkpush.connect.session_release import release
from sparkpush.errors import CloneUnsupportedError, ServerError, SparkpushError
from sparkpush.sync.clone_cost import clone_deadline
from sparkpush.sync.clone_room import check_room_for_clone
from sparkpush.sync.context import SyncContext
from sparkpush.sync.unfinished import (
    UnfinishedSession,
    forget_unfinished,
    record_unfinished,
    release_cut_off_clone,
)

log = logging.getLogger(__name__)


class CloneSourceGone(Exception):
    """The session to clone is gone from the server (released, expired, or the server
    restarted): the server refused the clone before making anything."""


class SessionBuild:
    """The sessions one build created; `close()` closes them, `abandon()` releases them."""

    def __init__(self, context: SyncContext, desired: Mapping[str, DesiredArtifact]) -> None:
        self.context = context
        self.desired = desired
        self.created: list[Session] = []
        self.uploaded: list[UploadedArtifact] = []

    def new_session(self) -> Session:
        session = self.context.target.session()
        self._record(session.session_id)
        self.created.append(session)
        return session

    def clone(self, base: Session, names: Sequence[str]) -> Session:
        """A server-side clone of `base`, which holds the artifacts `names`: its deadline grows
        with their size. CloneUnsupportedError on servers without it; a clone the call was cut
        off from is released (and, on the embedded server, its files deleted) before the error
        goes on."""
        sizes = {n: self.desired[n].size for n in names if n in self.desired}
        check_room_for_clone(self.context.target, sizes)
        clone_id = new_session_id()
        self._record(clone_id)
        deadline = clone_deadline(sizes)
        try:
            clone_id, server_side = base.clone_session(timeout=deadline, clone_id=clone_id)
        except CloneUnsupportedError:
            forget_unfinished(self.context.root, clone_id)
            raise
        except SparkpushError as exc:
            if isinstance(exc, ServerError) and exc.error_class in SESSION_GONE:
                # refused at the lookup of its source, before any copy: no clone to release
                forget_unfinished(self.context.root, clone_id)
                raise CloneSourceGone(exc.message) from None
            release_cut_off_clone(self.context.root, self.context.target, clone_id, deadline)
            raise
        clone = self.context.target.session(clone_id, server_side)
        self.created.append(clone)
        return clone

    def upload(self, session: Session, names: Sequence[str]) -> None:
        if not names:
            return
        report = upload_artifacts(
            session, [self.desired[n].artifact for n in names], self.context.on_progress
        )
        self.uploaded.extend(report.artifacts)

    def abandon(self) -> None:
        """Release what was created (newest first); a session not reached stays recorded."""
        for session in reversed(self.created):
            if release(session).gone:
                forget_unfinished(self.context.root, session.session_id)

    def finished(self) -> None:
        """The generation is current (its record saved): nothing left to clean up."""
        for session in self.created:
            forget_unfinished(self.context.root, session.session_id)

    def close(self) -> None:
        for session in self.created:
            session.close()

    def _record(self, session_id: str) -> None:
        record_unfinished(self.context.root, UnfinishedSession(self.context.remote, session_id))
