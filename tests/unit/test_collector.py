"""The collector pause: off inside, back as it was after, whatever the nesting and threads."""

from __future__ import annotations

import gc
import itertools
import threading
from collections.abc import Iterator

import pytest

from webhook.collector import RELEASE_SLICE, collector_paused, releasing
from webhook.policy.engine import evaluate
from webhook.policy.loader import parse_policy


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_restored_after_nesting() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner pause does not end the outer one
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_restored_after_an_exception() -> None:
    gc.enable()
    with pytest.raises(ValueError, match="boom"), collector_paused():
        raise ValueError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_in_threads_leave_the_collector_on() -> None:
    # Pauses that open and close in any interleaving: the last one to close turns it back on.
    gc.enable()
    inside, release = threading.Barrier(9), threading.Event()

    def hold() -> None:
        with collector_paused():
            inside.wait()
            release.wait()

    threads = [threading.Thread(target=hold) for _ in range(8)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join()
    assert gc.isenabled()


def test_evaluate_leaves_the_collector_on() -> None:
    gc.enable()
    policy = parse_policy("allowlist:\n- host: api.github.com\n  ports: [{number: 443}]\n")
    evaluate({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry"}, policy)
    assert gc.isenabled()


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_a_keep_freezes_what_is_alive() -> None:
    import gc

    try:
        gc.unfreeze()
        with collector_paused(keep=True):
            kept = [_Cycle() for _ in range(10)]
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()


def test_cycles_frozen_by_compacting_keeps_are_collected_every_nth_time() -> None:
    # a reload storm with garbage cycles alive at every freeze: what is held back is
    # bounded by compact_every reloads' worth, not by the number of reloads
    import gc
    import weakref

    refs: list[weakref.ref[_Cycle]] = []
    try:
        gc.unfreeze()
        for _ in range(40):
            alive = _Cycle()
            refs.append(weakref.ref(alive))
            with collector_paused(keep=True, compact_every=4):
                pass
            del alive
        held = sum(1 for ref in refs if ref() is not None)
        assert 0 < held <= 4
    finally:
        gc.unfreeze()
        gc.collect()


def _items(value: object) -> int:
    """How many items the lists and mappings in `value` hold, at every level."""
    if isinstance(value, dict):
        return len(value) + sum(_items(v) for v in value.values())
    if isinstance(value, list | tuple):
        return len(value) + sum(_items(v) for v in value)
    return 0


def test_releasing_empties_everything_a_slice_at_a_time() -> None:
    # the shapes of a policy's index: a long list, a long mapping of small tuples, and
    # a small mapping of namespaces to their hosts
    data = {
        "hosts": [f"h{i}" for i in range(1_000)],
        "exact": {f"h{i}": (i,) for i in range(600)},
        "by_namespace": {f"ns{n}": [f"h{i}" for i in range(200)] for n in range(51)},
        "mode": ["enforce"],
    }
    left = [_items(data)]
    for _ in releasing(data):
        left.append(_items(data))
    assert left[-1] == 0
    # every step frees at most a slice (a tuple of the long mapping counts as its item)
    assert max(before - after for before, after in itertools.pairwise(left)) <= 2 * RELEASE_SLICE


def test_releasing_steps_stay_small_for_small_containers_of_many() -> None:
    hosts = {f"ns{n}": [f"h{n}-{i}" for i in range(200)] for n in range(51)}
    steps = list(releasing(hosts))
    assert hosts == {}
    assert len(steps) >= 51  # one list at a time, never the whole mapping at once
