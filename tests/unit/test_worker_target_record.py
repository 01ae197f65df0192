"""The workers' facts read back through the record codec; another form is a miss, not a crash."""

from __future__ import annotations

import json

import pytest

from sparkpush.remote.worker_probe import parse_probe_answer
from sparkpush.remote.worker_target import WorkerTarget, local_target
from sparkpush.state.records import RecordError


def test_the_facts_read_back_from_their_json() -> None:
    here = local_target()
    assert WorkerTarget.from_json(json.loads(json.dumps(here.as_json()))) == here


def test_facts_an_older_probe_wrote_without_provided_packages_still_read() -> None:
    older = {k: v for k, v in local_target().as_json().items() if k != "provided"}
    assert WorkerTarget.from_json(older).provided == {}


@pytest.mark.parametrize(("key", "value"), [("python", 3.11), ("glibc", 2), ("provided", [])])
def test_facts_of_the_wrong_kind_are_refused(key: str, value: object) -> None:
    with pytest.raises(RecordError, match=f"not a worker target: .* `\\$.{key}`"):
        WorkerTarget.from_json({**local_target().as_json(), key: value})


def test_a_probe_answer_of_another_form_is_an_error_answer_not_a_crash() -> None:
    facts = {**local_target().as_json(), "python": 3.11}
    answer = parse_probe_answer(json.dumps({"target": facts}))
    assert answer.worker_target is None
