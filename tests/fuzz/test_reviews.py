"""Fuzzing POST /validate of the real server: every answer is a review or a 4xx, never a 5xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from tests.fuzz.corpus import (
    SEEDS,
    admission_review,
    generated_reviews,
    mutated_reviews,
    problems_with,
    random_inputs,
)
from tests.server_process import Client

pytestmark = pytest.mark.fuzz

#: Examples per Hypothesis test, and seeded random inputs: a few thousand in all, so
#: the suite stays well under a minute. `python -m bench.fuzz` runs the same inputs by
#: the million.
EXAMPLES = 400
RANDOM_INPUTS = 1500


def _check(client: Client, body: bytes) -> None:
    answer = client.post(body)
    problems = problems_with(answer, body)
    assert not problems, f"{problems[0]}\nsent ({len(body)} bytes): {body[:500]!r}"


# Until the engine fix for a dict or list `kind` (is_handled: "unhashable type") is
# merged, the three tests below that draw such kinds find it too, and fail with it.


@settings(settings.get_profile("fuzz"), max_examples=EXAMPLES)
@given(body=generated_reviews())
def test_generated_reviews_get_a_review_or_a_4xx(fuzz_client: Client, body: bytes) -> None:
    _check(fuzz_client, body)


@settings(settings.get_profile("fuzz"), max_examples=EXAMPLES)
@given(body=mutated_reviews())
def test_mutated_real_reviews_get_a_review_or_a_4xx(fuzz_client: Client, body: bytes) -> None:
    _check(fuzz_client, body)


def test_seeded_random_inputs_get_a_review_or_a_4xx(fuzz_client: Client) -> None:
    """The scale fuzzer's own input stream (bench.fuzz), a slice of it; all failures listed."""
    next_input = random_inputs(seed=7)
    failures: dict[str, bytes] = {}
    for _ in range(RANDOM_INPUTS):
        body = next_input()
        for problem in problems_with(fuzz_client.post(body), body):
            failures.setdefault(problem[:120], body)
    assert not failures, "\n".join(
        f"{problem}\n  sent: {body[:300]!r}" for problem, body in failures.items()
    )


@pytest.mark.parametrize(
    "kind",
    [{"kind": "ServiceEntry"}, ["ServiceEntry"], {}, [], 7, None],
    ids=["dict", "list", "empty-dict", "empty-list", "number", "null"],
)
@pytest.mark.parametrize("where", ["object.kind", "request.kind.kind"])
def test_a_kind_of_any_json_type_is_never_a_500(
    fuzz_client: Client, kind: object, where: str
) -> None:
    """A dict or list `object.kind` made the engine raise TypeError (unhashable) and the
    server answer 500; the fix is in the engine (webhook/policy), not here."""
    review = admission_review(json.loads(json.dumps(SEEDS[0])), uid="odd-kind")
    if where == "object.kind":
        review["request"]["object"]["kind"] = kind
    else:
        review["request"]["kind"]["kind"] = kind
    _check(fuzz_client, json.dumps(review).encode())


def test_a_host_of_fifty_thousand_labels_is_answered_within_the_memory_limit(
    fuzz_client: Client,
) -> None:
    """Found by `python -m bench.fuzz`: every suffix of a host was built as a string, so
    a 100 kB host needed gigabytes (a MemoryError under the server's 1 GiB limit here;
    without one, the machine's memory). The fix is in the engine
    (webhook/policy/hosts.py), not here."""
    obj = json.loads(json.dumps(SEEDS[0]))
    obj["spec"]["hosts"] = ["*." * 50_000 + "example.com"]
    _check(fuzz_client, json.dumps(admission_review(obj, uid="many-labels")).encode())
