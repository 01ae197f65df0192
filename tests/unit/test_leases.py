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
