from __future__ import annotations

from dataclasses import replace

import pytest

from sparkpush.artifacts.planner import PlanAction
from sparkpush.sync.summary import SyncSummary

SUMMARY = SyncSummary(
    session_id="s",
    generation=3,
    action=PlanAction.ADD_IN_PLACE,
    uploaded=1,
    skipped=4,
    bytes=10,
    seconds=0.5,
    reasons=("added: files/a.txt",),
    released=("old",),
    warnings=("artifacts.jars: 'lib/*.jar' matches no file",),
    udfs=("answer",),
    by_daemon=True,
    layers=True,
    layer="code",
)


def test_summary_survives_json() -> None:
    assert SyncSummary.from_json(SUMMARY.to_json()) == SUMMARY


def test_every_field_is_a_json_key() -> None:
    assert set(SUMMARY.to_json()) == set(SyncSummary.__dataclass_fields__)


def test_extra_keys_are_ignored_and_missing_ones_refused() -> None:
    document = {**SUMMARY.to_json(), "at": 1.0, "ms": 500.0}
    assert SyncSummary.from_json(document) == SUMMARY
    del document["released"]
    with pytest.raises(KeyError, match="released"):
        SyncSummary.from_json(document)


def test_a_sync_that_was_not_needed_reports_nothing_on_the_same_generation() -> None:
    unchanged = SUMMARY.unchanged()
    assert unchanged.action is PlanAction.NOTHING
    assert (unchanged.session_id, unchanged.generation) == ("s", 3)
    assert (unchanged.uploaded, unchanged.bytes, unchanged.skipped) == (0, 0, 5)
    assert unchanged.reasons == unchanged.released == unchanged.udfs == ()
    assert unchanged.warnings == SUMMARY.warnings
    assert (unchanged.layers, unchanged.layer) == (True, None)


@pytest.mark.parametrize(
    ("summary", "line"),
    [
        (
            SUMMARY,
            "added in place, generation 3, 1 artifact(s), 10 bytes, 500 ms, registered answer "
            "(added: files/a.txt)",
        ),
        (
            replace(SUMMARY, action=PlanAction.NOTHING, uploaded=0, bytes=0, reasons=()),
            "registered answer in place, generation 3",
        ),
        (
            replace(SUMMARY, action=PlanAction.NOTHING, udfs=(), seconds=0.004),
            "nothing to do, generation 3 serves (4 ms)",
        ),
        (
            replace(SUMMARY, action=PlanAction.NEW_GENERATION, udfs=(), reasons=("changed: x",)),
            "new generation, generation 3, 1 artifact(s), 10 bytes, 500 ms (changed: x)",
        ),
    ],
)
def test_every_sync_reads_as_one_line_saying_what_and_why(summary: SyncSummary, line: str) -> None:
    assert summary.describe() == line


def test_a_sync_that_only_registered_udfs_changed_what_serves() -> None:
    assert SUMMARY.changed
    assert replace(SUMMARY, action=PlanAction.NOTHING).changed
    assert not replace(SUMMARY, action=PlanAction.NOTHING, udfs=()).changed
    entry = SUMMARY.change_json(at=12.5)
    assert entry["generation"] == 3 and entry["action"] == "add_in_place" and entry["at"] == 12.5
