from __future__ import annotations

from sparkpush.daemon.leases import LeaseTable


def test_a_retired_generation_without_leases_is_free_at_once() -> None:
    table = LeaseTable()
    assert table.retire("old") == ["old"]


def test_a_leased_generation_is_released_when_its_last_lease_ends() -> None:
    table = LeaseTable()
    first = table.acquire("old")
    second = table.acquire("old")
    assert table.retire("old") == []
    assert table.retired_and_held() == ["old"]
    assert table.release("old", first) == []
    assert table.release("old", second) == ["old"]
    assert table.retired_and_held() == []


def test_ending_a_lease_on_the_current_generation_frees_nothing() -> None:
    table = LeaseTable()
    lease = table.acquire("current")
    assert table.release("current", lease) == []
    assert table.held("current") == 0


def test_a_retired_base_waits_for_the_generations_cloned_from_it() -> None:
    table = LeaseTable()
    lease = table.acquire("gen-1")
    assert table.retire("gen-1", cloned_from="base-1") == []
    assert table.retire("base-1") == []  # gen-1, cloned from it, is still leased
    assert table.retired_and_held() == ["base-1", "gen-1"]
    assert table.release("gen-1", lease) == ["gen-1", "base-1"]
    assert table.retired_and_held() == []


def test_a_base_still_current_is_never_freed_by_its_retired_clones() -> None:
    table = LeaseTable()
    assert table.retire("gen-1", cloned_from="base-1") == ["gen-1"]
    lease = table.acquire("gen-2")
    assert table.retire("gen-2", cloned_from="base-1") == []
    assert table.release("gen-2", lease) == ["gen-2"]
    assert table.held("base-1") == 0


def test_a_retired_base_without_live_clones_is_free_at_once() -> None:
    table = LeaseTable()
    assert table.retire("gen-1", cloned_from="base-1") == ["gen-1"]
    assert table.retire("base-1") == ["base-1"]
