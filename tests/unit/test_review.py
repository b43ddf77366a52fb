"""AdmissionReview wire types: parsing requests, building allowed/denied responses, size limits."""

from __future__ import annotations

from typing import Any

import pytest

from webhook.errors import ReviewInvalidError
from webhook.review import (
    MAX_WARNING_CHARS,
    MAX_WARNINGS_TOTAL,
    AdmissionReview,
    allowed,
    audit,
    denied,
    limit_warnings,
    parse_review,
    response_review,
)


def _request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "networking.istio.io", "version": "v1", "kind": "ServiceEntry"},
        "resource": {"group": "networking.istio.io", "version": "v1", "resource": "serviceentries"},
        "name": "github",
        "namespace": "default",
        "operation": "CREATE",
        "userInfo": {
            "username": "alice",
            "groups": ["system:authenticated"],
            "extra": {"a": ["b"]},
        },
        "object": {"kind": "ServiceEntry", "metadata": {"name": "github"}},
        "oldObject": None,
        "dryRun": False,
        "options": {"kind": "CreateOptions"},
        "someFutureField": {"ignored": True},
    }
    request.update(overrides)
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def test_parse_reads_what_the_server_needs() -> None:
    review = parse_review(_request(dryRun=True))
    req = review.request
    assert req.uid == "705ab4f5-6393-11e8-b7cc-42010a800002"
    assert req.kind.kind == "ServiceEntry"
    assert (req.namespace, req.name, req.operation) == ("default", "github", "CREATE")
    assert req.user_info.username == "alice"
    assert req.object == {"kind": "ServiceEntry", "metadata": {"name": "github"}}
    assert req.dry_run is True


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
def test_delete_and_connect_need_no_object(operation: str) -> None:
    review = parse_review(_request(operation=operation, object=None))
    assert review.request.object is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object (an AdmissionReview), got an array"),
        (None, "got null"),
        (True, "got a boolean"),
        (1.5, "got a number"),
        ({}, "apiVersion: required field is missing"),
        (
            {**_request(), "apiVersion": "admission.k8s.io/v1beta1"},
            "apiVersion: Input should be 'admission.k8s.io/v1' (list v1 in "
            "admissionReviewVersions of the ValidatingWebhookConfiguration), "
            "got 'admission.k8s.io/v1beta1'",
        ),
        ({**_request(), "kind": "Review"}, "kind: Input should be 'AdmissionReview', got 'Review'"),
        (_request(uid=""), "request.uid: String should have at least 1 character"),
        (_request(uid={"a": 1}), "request.uid: Input should be a valid string, got an object"),
        (_request(object=None), "request.object is required for CREATE"),
        (_request(operation="UPDATE", object=None), "request.object is required for UPDATE"),
        (_request(object=[1]), "request.object: Input should be a valid dictionary, got an array"),
        (_request(name="x" * 500, uid=5), "request.uid: Input should be a valid string, got 5"),
    ],
)
def test_invalid_reviews_say_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(ReviewInvalidError) as invalid:
        parse_review(data)
    assert message in str(invalid.value)


def test_long_values_are_cut_in_messages() -> None:
    with pytest.raises(ReviewInvalidError) as invalid:
        parse_review({**_request(), "kind": "K" * 1000})
    assert len(str(invalid.value)) < 200


def _review() -> AdmissionReview:
    return parse_review(_request())


def test_allowed_response_echoes_uid_api_version_and_kind() -> None:
    body = response_review(_review(), allowed("705ab4f5-6393-11e8-b7cc-42010a800002"))
    assert body == {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "allowed": True},
    }


def test_denied_response_is_a_403_status() -> None:
    response = denied(
        "u", "ServiceEntry default/x: host is not allowed", audit_annotations={"decision": "denied"}
    )
    body = response_review(_review(), response)
    assert body["response"] == {
        "uid": "u",
        "allowed": False,
        "status": {
            "status": "Failure",
            "code": 403,
            "reason": "Forbidden",
            "message": "ServiceEntry default/x: host is not allowed",
        },
        "auditAnnotations": {"decision": "denied"},
    }


def test_warnings_ride_along_with_either_verdict() -> None:
    assert allowed("u", warnings=["w"]).warnings == ("w",)
    assert denied("u", "m", warnings=["w"]).warnings == ("w",)
    assert allowed("u", warnings=[]).warnings is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["plain"], ("plain",)),
        (["two\nlines\tand\x00nul"], ("two lines and nul",)),
        (["  padded  "], ("padded",)),
        (["", "   ", "\n"], ()),
        (["same", "same", "other"], ("same", "other")),
        (["x" * MAX_WARNING_CHARS], ("x" * MAX_WARNING_CHARS,)),
        (["x" * (MAX_WARNING_CHARS + 1)], ("x" * (MAX_WARNING_CHARS - 3) + "...",)),
        (["é" * 300], ("é" * (MAX_WARNING_CHARS - 3) + "...",)),
    ],
)
def test_limit_warnings_cleans_and_cuts(given: list[str], expected: tuple[str, ...]) -> None:
    assert limit_warnings(given) == expected


def test_limit_warnings_stays_within_the_api_server_total() -> None:
    many = [f"warning {i}: " + "x" * 200 for i in range(100)]
    kept = limit_warnings(many)
    total = sum(len(w.encode()) + len('299 - ""') for w in kept)
    assert total <= MAX_WARNINGS_TOTAL
    assert kept[0] == many[0]
    assert kept[-1].endswith("not shown (API server size limit); see the webhook log")
    shown = len(kept) - 1
    assert kept[-1].startswith(f"{100 - shown} more warnings")


def test_limit_warnings_counts_bytes_of_multibyte_text() -> None:
    kept = limit_warnings([f"{i} " + "é" * 250 for i in range(20)])
    total = sum(len(w.encode()) + len('299 - ""') for w in kept)
    assert total <= MAX_WARNINGS_TOTAL


def test_a_lone_surrogate_does_not_crash_the_builders() -> None:
    response = allowed("u", warnings=["bad \ud800 text"])
    assert response.warnings == ("bad \ud800 text",)


@pytest.mark.parametrize("key", ["decision", "rules", "policy", "a.b_c-d", "x" * 63])
def test_audit_keys_that_the_api_server_accepts(key: str) -> None:
    assert audit({key: "v"}) == {key: "v"}


@pytest.mark.parametrize(
    "key", ["egress-webhook/decision", "", "-lead", "trail-", "x" * 64, "sp ace", "dé"]
)
def test_audit_keys_that_the_api_server_would_drop_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="not a valid name"):
        audit({key: "v"})


def test_audit_values_are_kept_short_and_on_one_line() -> None:
    out = audit({"rules": "a\nb" + "c" * 1000})
    assert out is not None
    assert out["rules"].startswith("a b")
    assert len(out["rules"]) == 256
    assert audit({}) is None
    assert audit(None) is None
