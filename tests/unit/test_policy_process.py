"""The policy from the reading child to the server: cut into small messages, rebuilt whole."""

from __future__ import annotations

import io
import pickle
from typing import Any

import pytest

from bench.workload import sized_policy_text
from webhook.policy.index import BoundedMemo, CompiledPolicy
from webhook.policy.loader import parse_policy
from webhook.server.policy_process import _BUDGET, _SMALL, SLICE, Assembler, Frames


def _messages(root: object, shared: list[Any] | tuple[Any, ...] = ()) -> list[bytes]:
    messages: list[bytes] = []
    Frames(messages.append).send(root, shared)
    return messages


def _rebuilt(messages: list[bytes]) -> Any:
    assembler = Assembler()
    for message in messages:
        assert not assembler.done, "a message after the root"
        assembler.feed(message)
    assert assembler.done
    return assembler.result


class _Whole:
    """What a message refers to: counted, never opened."""


class _Peek(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        return _Whole()


def _largest_containers(message: bytes) -> tuple[int, int]:
    """The longest container in `message`, and the items of containers over _SMALL in all."""
    longest, total = 0, 0
    stack = [_Peek(io.BytesIO(message)).load()]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple | dict):
            longest = max(longest, len(item))
            total += len(item) if len(item) > _SMALL else 0
            stack.extend(item.items() if isinstance(item, dict) else item)
    return longest, total


@pytest.mark.parametrize(
    "value",
    [
        [],
        list(range(SLICE)),
        list(range(SLICE + 1)),
        tuple(range(10 * SLICE + 3)),
        {f"k{i}": (i, str(i)) for i in range(3 * SLICE)},
        {"nested": [[i] * 40 for i in range(3 * SLICE)], "empty": {}, "small": (1, 2)},
        [{f"{n}-{i}": [i] * 30 for i in range(20)} for n in range(50)],
    ],
    ids=["empty", "slice", "slice+1", "long-tuple", "long-dict", "nested", "many-medium"],
)
def test_containers_come_back_equal_and_of_their_type(value: object) -> None:
    messages = _messages(value)
    assert _rebuilt(messages) == value
    assert type(_rebuilt(messages)) is type(value)


def test_no_message_holds_more_than_a_slice_of_any_container_nor_a_budget_in_all() -> None:
    value = {
        "long": list(range(20 * SLICE)),
        "many-medium": {f"ns-{n}": [f"h{i}" for i in range(200)] for n in range(60)},
        "pairs": {f"k{i}": (f"v{i}",) * 3 for i in range(5 * SLICE)},
    }
    messages = _messages(value)
    assert len(messages) > 20 * SLICE // SLICE, "the long containers went in parts"
    for message in messages:
        longest, total = _largest_containers(message)
        assert longest <= SLICE
        assert total <= _BUDGET + SLICE


def test_shared_objects_are_one_object_wherever_they_are_mentioned() -> None:
    shared = [[i] * 3 for i in range(3 * SLICE)]  # lists: compared by value, told by identity
    root = {"all": shared, "by-key": {str(i): (item,) for i, item in enumerate(shared)}}
    rebuilt = _rebuilt(_messages(root, shared))
    assert rebuilt["all"] == shared
    assert all(rebuilt["by-key"][str(i)][0] is item for i, item in enumerate(rebuilt["all"]))


def _slots(policy: CompiledPolicy) -> dict[str, Any]:
    return {
        name: getattr(policy, name)
        for name in CompiledPolicy.__slots__
        if not isinstance(getattr(policy, name), BoundedMemo)
    }


def test_a_compiled_policy_comes_back_equal_with_each_entry_held_once() -> None:
    policy = parse_policy(sized_policy_text(5000))
    rebuilt = _rebuilt(_messages(policy, policy.policy.allowlist))
    assert isinstance(rebuilt, CompiledPolicy)
    assert _slots(rebuilt) == _slots(policy)
    entries = {id(entry) for entry in rebuilt.policy.allowlist}
    indexed = [e for found in rebuilt._exact.values() for e in found]
    indexed += [e for found in rebuilt._wildcard.values() for e in found]
    assert len(indexed) == len(entries)
    assert {id(entry) for entry in indexed} == entries
    for host in ("api-7.partner-7.example.com", "x.wild-3.example.net", "nowhere.example"):
        assert rebuilt.entries_for(host) == policy.entries_for(host)


def test_an_unknown_message_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown message"):
        Assembler().feed(pickle.dumps(("surprise", 1)))
