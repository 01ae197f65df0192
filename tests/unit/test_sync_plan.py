"""The sync's pure plan from plain values: what is wanted, what is recorded, what the server
said about the recorded sessions. No server, fake or real: a question is an answer here."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from sparkpush.artifacts.layers import Layer, conf_digest
from sparkpush.artifacts.planner import PlanAction
from sparkpush.sync.generation import BaseSession, Generation, StoredArtifact
from sparkpush.sync.layering import Layout
from sparkpush.sync.plan import (
    Decision,
    Liveness,
    Question,
    decide,
    plan_generation,
    recorded_current,
)

REMOTE = "sc://spark.example:15002"
JAR = "jars/lib.jar"
JOBS = "pyfiles/jobs.py"
NOTES = "files/notes.txt"
CONF = {"spark.sql.shuffle.partitions": "4"}


def layout(
    base: Mapping[str, str], code: Mapping[str, str], conf: Mapping[str, str] = CONF
) -> Layout:
    return Layout(dict(base), dict(code), dict(conf))


def generation(hashes: Mapping[str, str], base_names: tuple[str, ...] | None = None) -> Generation:
    """Generation 3 on REMOTE holding `hashes`; layered (a clone of a base holding
    `base_names`, with CONF) unless `base_names` is None."""
    entries = {n: StoredArtifact(n, h, 10, n, 3) for n, h in hashes.items()}
    base = (
        BaseSession("base-1", "server-base-1", base_names, conf_digest(CONF))
        if base_names is not None
        else None
    )
    return Generation("gen-3", 3, REMOTE, "server-gen-3", entries, base=base)


def planned(step: Decision | Question) -> Decision:
    assert isinstance(step, Decision), f"asked {step} instead of planning"
    return step


SINGLE = generation({JAR: "j1", JOBS: "p1"})
LAYERED = generation({JAR: "j1", JOBS: "p1"}, base_names=(JAR,))


@pytest.mark.parametrize("layers", [False, True])
def test_no_current_generation_builds_one_from_scratch_and_asks_nothing(layers: bool) -> None:
    decision = planned(plan_generation(layers, layout({JAR: "j1"}, {JOBS: "p1"}), None))
    assert decision.plan.action is PlanAction.NEW_GENERATION
    assert decision.plan.reasons == ("no current session",)
    assert decision.plan.upload == (JAR, JOBS)
    assert decision.plan.layer is (Layer.BASE if layers else None)
    assert decision.current is None


def test_nothing_changed_needs_the_current_session_alive() -> None:
    wanted = layout({JAR: "j1"}, {JOBS: "p1"})
    assert plan_generation(False, wanted, SINGLE) is Question.CURRENT_ALIVE
    decision = planned(plan_generation(False, wanted, SINGLE, Liveness(current=True)))
    assert (decision.plan.action, decision.current) == (PlanAction.NOTHING, SINGLE)


def test_a_current_session_that_is_gone_means_a_new_generation_on_nothing() -> None:
    wanted = layout({JAR: "j1"}, {JOBS: "p1"})
    decision = planned(plan_generation(False, wanted, SINGLE, Liveness(current=False)))
    assert decision.plan.action is PlanAction.NEW_GENERATION
    assert decision.plan.reasons == ("no current session",)
    assert decision.current is None


def test_an_added_file_goes_in_place_into_the_live_current_session() -> None:
    wanted = layout({JAR: "j1"}, {JOBS: "p1", NOTES: "n1"})
    assert plan_generation(False, wanted, SINGLE) is Question.CURRENT_ALIVE
    decision = planned(plan_generation(False, wanted, SINGLE, Liveness(current=True)))
    assert decision.plan.action is PlanAction.ADD_IN_PLACE
    assert (decision.plan.upload, decision.plan.reasons) == ((NOTES,), (f"added: {NOTES}",))
    assert decision.current == SINGLE


@pytest.mark.parametrize(
    ("wanted", "reasons"),
    [
        (layout({JAR: "j1"}, {JOBS: "p2"}), (f"changed: {JOBS}",)),
        (layout({JAR: "j1"}, {}), (f"removed: {JOBS}",)),
    ],
)
def test_a_changed_or_removed_file_means_a_new_generation_without_asking(
    wanted: Layout, reasons: tuple[str, ...]
) -> None:
    decision = planned(plan_generation(False, wanted, SINGLE))
    assert decision.plan.action is PlanAction.NEW_GENERATION
    assert decision.plan.reasons == reasons
    assert decision.plan.layer is None


def test_a_layered_project_on_a_single_session_generation_gets_a_base_when_rebuilt() -> None:
    # e.g. after a server without CloneSession was upgraded: the next new generation is layered
    decision = planned(plan_generation(True, layout({JAR: "j1"}, {JOBS: "p2"}), SINGLE))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)


@pytest.mark.parametrize("liveness", [Liveness(), Liveness(base=True)])
def test_a_code_change_clones_the_base_and_sends_the_code_only_without_asking_first(
    liveness: Liveness,
) -> None:
    # the clone is the question: the server clones only a base it still holds
    wanted = layout({JAR: "j1"}, {JOBS: "p2"})
    decision = planned(plan_generation(True, wanted, LAYERED, liveness))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.NEW_GENERATION, Layer.CODE)
    assert decision.plan.upload == (JOBS,)
    assert decision.current == LAYERED  # its base is cloned


def test_a_code_change_that_first_adds_to_the_base_asks_whether_the_base_is_alive() -> None:
    # an upload to a base the server lost would make an empty session under its id
    wanted = layout({JAR: "j1", "jars/new.jar": "k1"}, {JOBS: "p2"})
    assert plan_generation(True, wanted, LAYERED) is Question.BASE_ALIVE
    decision = planned(plan_generation(True, wanted, LAYERED, Liveness(base=True)))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.NEW_GENERATION, Layer.CODE)
    assert "jars/new.jar" in decision.plan.upload


def test_a_code_change_on_a_gone_base_builds_a_new_base() -> None:
    wanted = layout({JAR: "j1"}, {JOBS: "p2"})
    decision = planned(plan_generation(True, wanted, LAYERED, Liveness(base=False)))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert decision.plan.reasons == ("base session gone",)
    assert decision.plan.upload == (JAR, JOBS)


@pytest.mark.parametrize(
    ("wanted", "reasons"),
    [
        (layout({JAR: "j2"}, {JOBS: "p1"}), (f"changed: {JAR}",)),
        (layout({JAR: "j1"}, {JOBS: "p1"}, {"spark.x": "1"}), ("changed: session confs",)),
        (layout({}, {JAR: "j1", JOBS: "p1"}), (f"moved to the code: {JAR}",)),
    ],
)
def test_a_base_change_builds_a_new_base_without_asking(
    wanted: Layout, reasons: tuple[str, ...]
) -> None:
    decision = planned(plan_generation(True, wanted, LAYERED))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert decision.plan.reasons == reasons


def test_an_unchanged_layered_generation_asks_about_the_current_session_only() -> None:
    wanted = layout({JAR: "j1"}, {JOBS: "p1"})
    assert plan_generation(True, wanted, LAYERED) is Question.CURRENT_ALIVE
    decision = planned(plan_generation(True, wanted, LAYERED, Liveness(current=True)))
    assert decision.plan.action is PlanAction.NOTHING


def test_a_new_base_artifact_joins_the_live_base_and_the_live_current_session() -> None:
    wanted = layout({JAR: "j1", "jars/new.jar": "k1"}, {JOBS: "p1"})
    assert plan_generation(True, wanted, LAYERED) is Question.BASE_ALIVE
    assert plan_generation(True, wanted, LAYERED, Liveness(base=True)) is Question.CURRENT_ALIVE
    decision = planned(plan_generation(True, wanted, LAYERED, Liveness(current=True, base=True)))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.ADD_IN_PLACE, Layer.BASE)
    assert decision.plan.upload == ("jars/new.jar",)


def test_a_new_base_artifact_on_a_gone_base_builds_a_new_base() -> None:
    wanted = layout({JAR: "j1", "jars/new.jar": "k1"}, {JOBS: "p1"})
    decision = planned(plan_generation(True, wanted, LAYERED, Liveness(base=False)))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.NEW_GENERATION, Layer.BASE)
    assert decision.plan.reasons == ("base session gone",)


def test_layers_turned_off_plan_a_layered_generation_as_one_session() -> None:
    decision = planned(plan_generation(False, layout({JAR: "j1"}, {JOBS: "p2"}), LAYERED))
    assert (decision.plan.action, decision.plan.layer) == (PlanAction.NEW_GENERATION, None)


def test_decide_asks_each_question_once_and_only_those_the_plan_needs() -> None:
    asked: list[Question] = []

    def ask(question: Question) -> bool:
        asked.append(question)
        return True

    wanted = layout({JAR: "j1", "jars/new.jar": "k1"}, {JOBS: "p1"})
    assert decide(True, wanted, LAYERED, ask).plan.action is PlanAction.ADD_IN_PLACE
    assert asked == [Question.BASE_ALIVE, Question.CURRENT_ALIVE]
    asked.clear()
    assert decide(True, layout({JAR: "j1"}, {JOBS: "p2"}), LAYERED, ask).current == LAYERED
    assert asked == []  # the clone answers
    asked.clear()
    decide(True, layout({JAR: "j1"}, {JOBS: "p1"}), LAYERED, ask, Liveness(current=True))
    assert asked == []


@pytest.mark.parametrize(
    ("recorded", "remote", "usable"),
    [
        (SINGLE, REMOTE, True),
        (SINGLE, "sc://other:15002", False),
        (Generation("gen-1", 1, REMOTE, None, {}), REMOTE, False),
        (None, REMOTE, False),
    ],
)
def test_the_recorded_generation_counts_only_on_its_server_once_confirmed(
    recorded: Generation | None, remote: str, usable: bool
) -> None:
    assert (recorded_current(recorded, remote) is not None) is usable
