"""Where request work runs (``AppState.run_cached`` / ``run_blocking``) and the refreshed values the
caches are keyed by (``Refreshing``): no database access on the event loop, one reload for many
waiting threads, and no stale value trusted after an invalidation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from monban.access.state import AppState, NeedsThread, Refreshing, on_event_loop


def test_the_database_is_out_of_reach_on_the_event_loop(state: AppState) -> None:
    assert state.db is not None
    with on_event_loop(), pytest.raises(NeedsThread):
        _ = state.db
    assert state.db is not None  # and back after the block


def test_needs_thread_passes_through_except_exception() -> None:
    def swallowing() -> str:
        try:
            raise NeedsThread
        except Exception:  # what a handler's "never fail for bookkeeping" block does
            return "swallowed"

    with pytest.raises(NeedsThread):
        swallowing()


def test_cached_work_runs_on_the_loop_and_database_work_on_a_thread(state: AppState) -> None:
    seen: list[tuple[str, int]] = []

    def cached_only() -> str:
        seen.append(("cached", threading.get_ident()))
        return "from the cache"

    def touches_the_database() -> int:
        seen.append(("database", threading.get_ident()))
        with state.db.transaction() as session:
            return len(session.info) + 1

    async def scenario() -> tuple[str, int, int]:
        loop_thread = threading.get_ident()
        return await state.run_cached(cached_only), await state.run_cached(touches_the_database), loop_thread

    first, second, loop_thread = asyncio.run(scenario())
    assert (first, second) == ("from the cache", 1)
    assert seen[0] == ("cached", loop_thread)
    # tried on the loop first (stopped at state.db), then run again from the start on a thread
    assert seen[1] == ("database", loop_thread)
    assert seen[2][0] == "database" and seen[2][1] != loop_thread


def test_errors_of_inline_work_are_raised_as_they_are(state: AppState) -> None:
    def failing() -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        asyncio.run(state.run_cached(failing))


def test_many_waiting_threads_cause_one_reload() -> None:
    loads: list[int] = []

    def slow_load() -> int:
        loads.append(1)
        time.sleep(0.05)
        return len(loads)

    value = Refreshing(60.0, slow_load)
    threads = [threading.Thread(target=value.get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and value.get() == 1


def test_a_load_that_overlaps_an_invalidation_is_not_trusted() -> None:
    source = {"generation": 1}
    value: Refreshing[int]

    def load() -> int:
        seen = source["generation"]
        source["generation"] += 1  # a write commits while the old value is on its way back…
        value.invalidate()  # …and its worker invalidates, as ``AppState.wrote`` does
        return seen

    value = Refreshing(60.0, load)
    assert value.get() == 1
    assert value.get() == 2  # reloaded: the first answer predates the write


def test_invalidate_makes_the_next_get_reload() -> None:
    counter = iter(range(1, 100))
    value = Refreshing(60.0, lambda: next(counter))
    assert value.get() == 1 and value.get() == 1
    value.invalidate()
    assert value.get() == 2
