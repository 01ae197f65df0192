"""The pure side of layers: which layer an artifact is in, and the layered plan."""

from __future__ import annotations

import pytest

from sparkpush.artifacts.layers import Layer, conf_digest, layer_of
from sparkpush.artifacts.planner import LayeredSet, PlanAction, SyncPlan, plan_layered_sync

NEW = PlanAction.NEW_GENERATION
ADD = PlanAction.ADD_IN_PLACE
NOTHING = PlanAction.NOTHING


@pytest.mark.parametrize(
    ("name", "source", "globs", "layer"),
    [
        ("jars/dep.jar", "lib/dep.jar", (), Layer.BASE),
        ("jars/classes-target.jar", "target/classes", (), Layer.CODE),
        ("jars/myapp-1.jar", "build/myapp-1.jar", ("jars/myapp-*.jar",), Layer.CODE),
        ("classes/p/A.class", "classes/p/A.class", (), Layer.CODE),
        ("pyfiles/mypkg-0123456789ab.zip", "src/mypkg", (), Layer.CODE),
        ("pyfiles/extra.py", "extra/extra.py", (), Layer.CODE),
        (
            "pyfiles/wheelmod-1.0-py3-none-any.zip",
            "dist/wheelmod-1.0-py3-none-any.whl",
            (),
            Layer.BASE,
        ),
        ("archives/env.tar.gz#pyenv", "env.tar.gz", (), Layer.BASE),
        ("files/lookup.csv", "lookup.csv", (), Layer.BASE),
        ("files/lookup.csv", "lookup.csv", ("files/*",), Layer.CODE),
    ],
)
def test_layer_of(name: str, source: str, globs: tuple[str, ...], layer: Layer) -> None:
    assert layer_of(name, source, globs) is layer


CONF = conf_digest({"spark.sql.shuffle.partitions": "4"})
BASE = {"jars/dep.jar": "d1", "files/f.txt": "f1"}
CODE = {"classes/p/A.class": "a1", "pyfiles/m.zip": "m1"}
CURRENT = LayeredSet(BASE, CODE, CONF)


@pytest.mark.parametrize(
    ("desired", "expected"),
    [
        pytest.param(CURRENT, SyncPlan(NOTHING, (), ()), id="unchanged"),
        pytest.param(
            LayeredSet(BASE, {**CODE, "classes/p/A.class": "a2"}, CONF),
            SyncPlan(
                NEW,
                ("classes/p/A.class", "pyfiles/m.zip"),
                ("changed: classes/p/A.class",),
                Layer.CODE,
            ),
            id="code-changed",
        ),
        pytest.param(
            LayeredSet({**BASE, "jars/new.jar": "n1"}, {**CODE, "pyfiles/m.zip": "m2"}, CONF),
            SyncPlan(
                NEW,
                ("jars/new.jar", "classes/p/A.class", "pyfiles/m.zip"),
                ("changed: pyfiles/m.zip",),
                Layer.CODE,
            ),
            id="code-changed-and-base-added",
        ),
        pytest.param(
            LayeredSet(BASE, {"classes/p/A.class": "a1"}, CONF),
            SyncPlan(NEW, ("classes/p/A.class",), ("removed: pyfiles/m.zip",), Layer.CODE),
            id="code-removed",
        ),
        pytest.param(
            LayeredSet({**BASE, "jars/dep.jar": "d2"}, CODE, CONF),
            SyncPlan(
                NEW,
                ("jars/dep.jar", "classes/p/A.class", "pyfiles/m.zip", "files/f.txt"),
                ("changed: jars/dep.jar",),
                Layer.BASE,
            ),
            id="base-changed",
        ),
        pytest.param(
            LayeredSet({"jars/dep.jar": "d1"}, CODE, CONF),
            SyncPlan(
                NEW,
                ("jars/dep.jar", "classes/p/A.class", "pyfiles/m.zip"),
                ("removed: files/f.txt",),
                Layer.BASE,
            ),
            id="base-removed",
        ),
        pytest.param(
            LayeredSet(BASE, CODE, conf_digest({})),
            SyncPlan(
                NEW,
                ("jars/dep.jar", "classes/p/A.class", "pyfiles/m.zip", "files/f.txt"),
                ("changed: session confs",),
                Layer.BASE,
            ),
            id="confs-changed",
        ),
        pytest.param(
            LayeredSet({**BASE, "pyfiles/m.zip": "m1"}, {"classes/p/A.class": "a1"}, CONF),
            SyncPlan(
                NEW,
                ("jars/dep.jar", "classes/p/A.class", "pyfiles/m.zip", "files/f.txt"),
                ("moved to the base: pyfiles/m.zip",),
                Layer.BASE,
            ),
            id="moved-to-base",
        ),
        pytest.param(
            LayeredSet({**BASE, "files/g.txt": "g1"}, CODE, CONF),
            SyncPlan(ADD, ("files/g.txt",), ("added: files/g.txt",), Layer.BASE),
            id="base-added",
        ),
        pytest.param(
            LayeredSet(BASE, {**CODE, "classes/p/B.class": "b1"}, CONF),
            SyncPlan(ADD, ("classes/p/B.class",), ("added: classes/p/B.class",), Layer.CODE),
            id="code-added",
        ),
    ],
)
def test_plan_layered_sync(desired: LayeredSet, expected: SyncPlan) -> None:
    assert plan_layered_sync(desired, CURRENT) == expected


def test_no_current_generation_builds_everything_from_a_new_base() -> None:
    plan = plan_layered_sync(CURRENT, None)
    assert (plan.action, plan.layer, plan.reasons) == (NEW, Layer.BASE, ("no current session",))
    assert set(plan.upload) == {*BASE, *CODE}


@pytest.mark.parametrize(
    ("desired", "action"),
    [
        pytest.param(
            LayeredSet(BASE, {**CODE, "pyfiles/m.zip": "m2"}, CONF), NEW, id="code-change"
        ),
        pytest.param(LayeredSet({**BASE, "files/g.txt": "g"}, CODE, CONF), ADD, id="base-add"),
    ],
)
def test_a_plan_that_needs_a_base_that_is_gone_rebuilds_it(
    desired: LayeredSet, action: PlanAction
) -> None:
    plan = plan_layered_sync(desired, CURRENT, base_alive=False)
    assert (plan.action, plan.layer, plan.reasons) == (NEW, Layer.BASE, ("base session gone",))


def test_a_gone_base_does_not_matter_when_nothing_or_only_code_is_added() -> None:
    assert plan_layered_sync(CURRENT, CURRENT, base_alive=False).action is NOTHING
    added = LayeredSet(BASE, {**CODE, "classes/p/B.class": "b1"}, CONF)
    assert plan_layered_sync(added, CURRENT, base_alive=False).layer is Layer.CODE
