"""admission.k8s.io/v1 AdmissionReview wire types, and builders of the responses we send."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from webhook.errors import ReviewInvalidError

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"

#: Operations whose `request.object` the policy evaluates; the others are always allowed.
EVALUATED_OPERATIONS = frozenset({"CREATE", "UPDATE"})

#: The API server may truncate a single warning longer than this many characters
#: (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/).
MAX_WARNING_CHARS = 256
#: Beyond this many characters of warnings (from all sources) the API server drops the rest.
#: It counts whole ``299 - "text"`` header values in bytes, so we do too.
MAX_WARNINGS_TOTAL = 4096
_WARNING_HEADER_OVERHEAD = len('299 - ""')
#: Room kept for the final "N more warnings" line.
_OMITTED_RESERVE = 80

#: The API server prefixes each audit annotation key with the webhook's name
#: (``<webhook name>/<key>``) and drops keys that do not then form a valid qualified name,
#: so a key is a bare name part: alphanumeric at both ends, ``-_.`` inside, at most 63.
_AUDIT_KEY = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
MAX_AUDIT_VALUE_CHARS = 256
#: Keys already checked: the webhook uses a handful, once per review.
_VALID_AUDIT_KEYS: set[str] = set()
_VALID_AUDIT_KEYS_KEPT = 64

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


class _Wire(BaseModel):
    """Lenient about fields we do not read: newer API servers add fields."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class GroupVersionKind(_Wire):
    """The type of an object, as the API server names it."""

    group: str = ""
    version: str = ""
    kind: str = ""


class GroupVersionResource(_Wire):
    """The REST resource an object was sent to."""

    group: str = ""
    version: str = ""
    resource: str = ""


class UserInfo(_Wire):
    """Who made the request."""

    username: str = ""
    uid: str = ""
    groups: list[str] = Field(default_factory=list)


class AdmissionRequest(_Wire):
    """What the API server asks about: one operation on one object."""

    uid: str = Field(min_length=1, description="Echoed in the response; ties the two together.")
    kind: GroupVersionKind
    resource: GroupVersionResource = Field(default_factory=GroupVersionResource)
    sub_resource: str = Field(default="", alias="subResource")
    name: str = ""
    namespace: str = ""
    operation: str = Field(min_length=1)
    user_info: UserInfo = Field(default_factory=UserInfo, alias="userInfo")
    object: dict[str, Any] | None = None
    old_object: dict[str, Any] | None = Field(default=None, alias="oldObject")
    dry_run: bool = Field(default=False, alias="dryRun")

    @model_validator(mode="after")
    def _object_for_writes(self) -> AdmissionRequest:
        if self.operation in EVALUATED_OPERATIONS and self.object is None:
            raise ValueError(f"request.object is required for {self.operation}")
        return self


class AdmissionReview(_Wire):
    """The request envelope: ``{"apiVersion", "kind", "request"}``."""

    api_version: Literal["admission.k8s.io/v1"] = Field(alias="apiVersion")
    kind: Literal["AdmissionReview"]
    request: AdmissionRequest


@dataclass(frozen=True, slots=True)
class Status:
    """The metav1.Status of a denial: what kubectl shows the user."""

    code: int
    reason: str
    message: str
    status: Literal["Failure"] = "Failure"


@dataclass(frozen=True, slots=True)
class AdmissionResponse:
    """The verdict for one request.

    Plain dataclasses, not models: only our own code builds them, from values already
    checked (allowed/denied below), once per review on the request path.
    """

    uid: str
    allowed: bool
    status: Status | None = None
    warnings: tuple[str, ...] | None = None
    audit_annotations: dict[str, str] | None = None


def parse_review(data: object) -> AdmissionReview:
    """Validate an already JSON-decoded body; raise ReviewInvalidError saying what is wrong."""
    if not isinstance(data, dict):
        raise ReviewInvalidError(
            f"the body must be a JSON object (an {KIND}), got {_json_type(data)}"
        )
    try:
        return AdmissionReview.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors(include_url=False))
        raise ReviewInvalidError(f"not a valid {API_VERSION} {KIND}: {problems}") from None


def allowed(
    uid: str,
    *,
    warnings: Iterable[str] = (),
    audit_annotations: Mapping[str, str] | None = None,
) -> AdmissionResponse:
    """Admit the request (warnings, if any, are shown to the client)."""
    return AdmissionResponse(
        uid=uid,
        allowed=True,
        warnings=limit_warnings(warnings) or None,
        audit_annotations=audit(audit_annotations),
    )


def denied(
    uid: str,
    message: str,
    *,
    warnings: Iterable[str] = (),
    audit_annotations: Mapping[str, str] | None = None,
) -> AdmissionResponse:
    """Refuse the request: HTTP 200 to the API server, 403 Forbidden to the client."""
    return AdmissionResponse(
        uid=uid,
        allowed=False,
        status=Status(code=403, reason="Forbidden", message=message),
        warnings=limit_warnings(warnings) or None,
        audit_annotations=audit(audit_annotations),
    )


def response_review(review: AdmissionReview, response: AdmissionResponse) -> dict[str, Any]:
    """The JSON body to send: the request's apiVersion and kind around `response`.

    Built field by field (what `model_dump(by_alias=True, exclude_none=True)` gives, in
    the same order): this runs once per review, and the models hold only JSON types.
    """
    out: dict[str, Any] = {"uid": response.uid, "allowed": response.allowed}
    status = response.status
    if status is not None:
        out["status"] = {
            "status": status.status,
            "code": status.code,
            "reason": status.reason,
            "message": status.message,
        }
    if response.warnings is not None:
        out["warnings"] = list(response.warnings)
    if response.audit_annotations is not None:
        out["auditAnnotations"] = dict(response.audit_annotations)
    return {"apiVersion": review.api_version, "kind": review.kind, "response": out}


def limit_warnings(warnings: Iterable[str]) -> tuple[str, ...]:
    """Warnings the API server will pass on intact: one line each, within its size limits.

    Control characters become spaces (a warning is an HTTP header value), each warning
    is cut to MAX_WARNING_CHARS, duplicates are dropped, and when the total would exceed
    what the API server keeps, the rest is replaced by one line saying how many were left out.
    """
    cleaned: list[str] = []
    for text in warnings:
        line = _CONTROL.sub(" ", text).strip()
        if len(line) > MAX_WARNING_CHARS:
            line = line[: MAX_WARNING_CHARS - 3].rstrip() + "..."
        if line and line not in cleaned:
            cleaned.append(line)
    kept: list[str] = []
    used = 0
    for index, line in enumerate(cleaned):
        cost = _header_cost(line)
        last = index == len(cleaned) - 1
        if used + cost + (0 if last else _OMITTED_RESERVE) > MAX_WARNINGS_TOTAL:
            left_out = len(cleaned) - index
            kept.append(
                f"{left_out} more warning{'s' if left_out != 1 else ''} not shown "
                "(API server size limit); see the webhook log"
            )
            break
        kept.append(line)
        used += cost
    return tuple(kept)


def audit(annotations: Mapping[str, str] | None) -> dict[str, str] | None:
    """Audit annotations with keys checked and values kept short; None when there are none."""
    if not annotations:
        return None
    out: dict[str, str] = {}
    for key, value in annotations.items():
        if key not in _VALID_AUDIT_KEYS:
            if not _AUDIT_KEY.match(key):
                raise ValueError(
                    f"audit annotation key {key!r} is not a valid name (the API server "
                    "prefixes it with the webhook name): letters, digits, '-', '_', '.', "
                    "at most 63"
                )
            if len(_VALID_AUDIT_KEYS) < _VALID_AUDIT_KEYS_KEPT:
                _VALID_AUDIT_KEYS.add(key)
        # every control character is unprintable: a printable value needs no cleaning
        text = value if value.isprintable() else _CONTROL.sub(" ", value)
        if len(text) > MAX_AUDIT_VALUE_CHARS:
            text = text[: MAX_AUDIT_VALUE_CHARS - 3] + "..."
        out[key] = text
    return out


def _header_cost(line: str) -> int:
    # quotes and backslashes are escaped inside the quoted header value
    escaped = line.count('"') + line.count("\\")
    return len(line.encode("utf-8", "surrogatepass")) + escaped + _WARNING_HEADER_OVERHEAD


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _problem(error: Any) -> str:
    loc = error.get("loc", ())
    path = ".".join(str(part) for part in loc) or "(top level)"
    kind = error.get("type")
    if kind == "missing":
        return f"{path}: required field is missing"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if kind == "value_error":
        return message
    if path == "apiVersion":
        message += " (list v1 in admissionReviewVersions of the ValidatingWebhookConfiguration)"
    given = error.get("input")
    shown = repr(given) if isinstance(given, str | int | float | bool) else _json_type(given)
    if isinstance(given, str) and len(given) > 60:
        shown = repr(given[:57] + "...")
    return f"{path}: {message}, got {shown}"
