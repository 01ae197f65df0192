from __future__ import annotations

import pytest

from sparkpush.artifacts.planner import PlanAction, SyncPlan, plan_sync, upload_order

NEW = PlanAction.NEW_GENERATION
ADD = PlanAction.ADD_IN_PLACE
NOTHING = PlanAction.NOTHING


@pytest.mark.parametrize(
    ("desired", "current", "expected"),
    [
        pytest.param({}, {}, SyncPlan(NOTHING, (), ()), id="both-empty"),
        pytest.param(
            {"jars/a.jar": "1", "pyfiles/x.py": "2"},
            {"pyfiles/x.py": "2", "jars/a.jar": "1"},
            SyncPlan(NOTHING, (), ()),
            id="identical",
        ),
        pytest.param(
            {"jars/a.jar": "1"},
            None,
            SyncPlan(NEW, ("jars/a.jar",), ("no current session",)),
            id="no-session",
        ),
        pytest.param({}, None, SyncPlan(NEW, (), ("no current session",)), id="no-session-empty"),
        pytest.param(
            {"jars/a.jar": "1", "files/b.txt": "2"},
            {"jars/a.jar": "1"},
            SyncPlan(ADD, ("files/b.txt",), ("added: files/b.txt",)),
            id="added-file",
        ),
        pytest.param(
            {"classes/p/A.class": "1", "jars/z.jar": "2", "pyfiles/m.py": "3"},
            {},
            SyncPlan(
                ADD,
                ("jars/z.jar", "classes/p/A.class", "pyfiles/m.py"),
                ("added: classes/p/A.class", "added: jars/z.jar", "added: pyfiles/m.py"),
            ),
            id="added-to-empty-session",
        ),
        pytest.param(
            {"jars/a.jar": "NEW", "files/b.txt": "2"},
            {"jars/a.jar": "OLD", "files/b.txt": "2"},
            SyncPlan(NEW, ("jars/a.jar", "files/b.txt"), ("changed: jars/a.jar",)),
            id="changed-jar",
        ),
        pytest.param(
            {"classes/p/A.class": "NEW"},
            {"classes/p/A.class": "OLD"},
            SyncPlan(NEW, ("classes/p/A.class",), ("changed: classes/p/A.class",)),
            id="changed-class",
        ),
        pytest.param(
            {"pyfiles/src-bbb.zip": "2"},
            {"pyfiles/src-aaa.zip": "1"},
            SyncPlan(NEW, ("pyfiles/src-bbb.zip",), ("removed: pyfiles/src-aaa.zip",)),
            id="repacked-python-renamed",
        ),
        pytest.param(
            {"jars/a.jar": "1"},
            {"jars/a.jar": "1", "pyfiles/x.py": "2"},
            SyncPlan(NEW, ("jars/a.jar",), ("removed: pyfiles/x.py",)),
            id="removed-pyfile",
        ),
        pytest.param(
            {},
            {"files/x.txt": "1"},
            SyncPlan(NEW, (), ("removed: files/x.txt",)),
            id="everything-removed",
        ),
        pytest.param(
            {"archives/d.zip#d": "2", "files/new.txt": "3", "jars/a.jar": "1"},
            {"archives/d.zip#d": "OLD", "jars/a.jar": "1", "files/old.txt": "9"},
            SyncPlan(
                NEW,
                ("jars/a.jar", "archives/d.zip#d", "files/new.txt"),
                ("changed: archives/d.zip#d", "removed: files/old.txt"),
            ),
            id="changed-removed-and-added",
        ),
    ],
)
def test_plan_sync(
    desired: dict[str, str], current: dict[str, str] | None, expected: SyncPlan
) -> None:
    assert plan_sync(desired, current) == expected


@pytest.mark.parametrize(
    "name",
    [
        "jars/x.jar",
        "classes/x/Y.class",
        "pyfiles/x.py",
        "pyfiles/x.zip",
        "archives/x.zip#x",
        "files/x.txt",
    ],
)
def test_changed_bytes_of_any_kind_start_a_new_generation(name: str) -> None:
    assert plan_sync({name: "new"}, {name: "old"}).action is NEW


def test_reasons_are_capped() -> None:
    current = {f"jars/{i}.jar": "old" for i in range(8)}
    desired = {name: "new" for name in current}
    plan = plan_sync(desired, current)
    assert plan.reasons == (
        "changed: jars/0.jar",
        "changed: jars/1.jar",
        "changed: jars/2.jar",
        "changed: jars/3.jar",
        "changed: jars/4.jar",
        "and 3 more",
    )
    assert len(plan.upload) == 8


def test_added_reasons_are_capped_but_all_are_uploaded() -> None:
    desired = {f"files/{i}.txt": "h" for i in range(7)}
    plan = plan_sync(desired, {})
    assert plan.action is ADD
    assert plan.reasons[-1] == "and 2 more"
    assert len(plan.upload) == 7


def test_upload_order_puts_jvm_code_first_and_unknown_last() -> None:
    names = [
        "files/a.txt",
        "cache/abc",
        "pyfiles/b.py",
        "archives/c.zip",
        "classes/z/A.class",
        "pyfiles/a.zip",
        "jars/b.jar",
        "jars/a.jar",
    ]
    assert upload_order(names) == (
        "jars/a.jar",
        "jars/b.jar",
        "classes/z/A.class",
        "pyfiles/a.zip",
        "pyfiles/b.py",
        "archives/c.zip",
        "files/a.txt",
        "cache/abc",
    )


def test_upload_order_does_not_depend_on_input_order() -> None:
    names = ["files/b", "jars/a.jar", "pyfiles/c.py", "files/a"]
    assert upload_order(names) == upload_order(reversed(names))
