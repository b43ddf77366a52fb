"""What the engine must know to check one kind of object; the list itself is `policy.kinds`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from webhook.policy.decision import Violation
from webhook.policy.subject import Subject

S = TypeVar("S", bound=Subject[Any])

#: A rule: a pure function of a parsed object that returns what it found wrong.
Rule = Callable[[S], Iterable[Violation]]

#: Keys every object has outside its body; a kind without `spec` (Endpoints) is the rest.
ENVELOPE = frozenset({"apiVersion", "kind", "metadata"})


@dataclass(frozen=True, slots=True)
class MatchCondition:
    """A CEL condition the API server evaluates before it calls us (webhook matchConditions).

    Only to keep requests we must never judge (the endpoint controllers' writes) and
    requests that cannot route anything (an ordinary Service) away from the webhook; the
    engine's verdict on such an object must be "allowed" all the same, since the offline
    checker evaluates every object.
    """

    name: str
    expression: str

    def as_dict(self) -> dict[str, str]:
        """The `matchConditions` item."""
        return {"name": self.name, "expression": self.expression}


@dataclass(frozen=True, slots=True)
class Kind(Generic[S]):
    """One handled kind: where the API server serves it, how it is parsed, which rules run."""

    #: The object's `kind`, e.g. ``ServiceEntry``.
    kind: str
    #: Its API group (``""`` for the core group).
    group: str
    #: Every served version the webhook checks alike.
    versions: tuple[str, ...]
    #: The plural resource name the webhook configuration matches on.
    resource: str
    #: The pydantic model of the object's body.
    model: type[BaseModel]
    #: The subject type rules receive; its `build` parses what every rule shares.
    subject: type[S]
    #: The rules, in the order their findings are reported.
    rules: tuple[Rule[S], ...]
    #: The top-level key `model` validates, or None for the whole object less the envelope.
    body: str | None = "spec"
    #: Admission operations the webhook is called for: CREATE and UPDATE evaluate the
    #: object with `rules`; DELETE evaluates the object being deleted with `delete_rules`.
    operations: tuple[str, ...] = ("CREATE", "UPDATE")
    #: The webhook entry the kind is sent through: "" is the main one; kinds with their
    #: own `match_conditions` need their own entry (conditions apply to a whole entry).
    webhook: str = ""
    #: CEL conditions of that entry; every kind of one entry must give the same ones.
    match_conditions: tuple[MatchCondition, ...] = ()
    #: Rules on the removal of an object (they need a cluster view to find anything).
    delete_rules: tuple[Rule[S], ...] = ()

    def body_of(self, obj: dict[str, Any] | Any) -> tuple[object, str]:
        """The part of `obj` the model validates, and the path prefix of its fields."""
        if self.body is None:
            return {k: v for k, v in obj.items() if k not in ENVELOPE}, ""
        return obj.get(self.body) or {}, self.body

    def check(self, subject: S) -> list[Violation]:
        """Every rule's findings on `subject` (the delete rules' when it is being deleted)."""
        rules = self.delete_rules if subject.operation == "DELETE" else self.rules
        return [violation for rule in rules for violation in rule(subject)]


class Registry:
    """The handled kinds, looked up by apiVersion and kind exactly as the API server sends them."""

    __slots__ = ("_by_group_kind", "_kinds")

    def __init__(self, *kinds: Kind[Any]) -> None:
        self._kinds = kinds
        self._by_group_kind = {(k.group, k.kind): k for k in kinds}
        if len(self._by_group_kind) != len(kinds):
            raise ValueError("a kind is registered twice")
        conditions: dict[str, tuple[MatchCondition, ...]] = {}
        for k in kinds:
            if conditions.setdefault(k.webhook, k.match_conditions) != k.match_conditions:
                raise ValueError(
                    f"{k.kind} shares webhook entry {k.webhook!r} with kinds whose "
                    "matchConditions differ; give it an entry of its own"
                )

    def __iter__(self) -> Iterator[Kind[Any]]:
        return iter(self._kinds)

    def lookup(self, api_version: object, kind: object) -> Kind[Any] | None:
        """The entry for an object's apiVersion and kind (any JSON values), or None."""
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return None  # a mapping or a list is not a kind (and is unhashable)
        group, _, version = api_version.rpartition("/")
        found = self._by_group_kind.get((group, kind))
        return found if found is not None and version in found.versions else None

    @property
    def names(self) -> tuple[str, ...]:
        """The kinds' names, in registry order."""
        return tuple(k.kind for k in self._kinds)

    def webhook_rules(self) -> list[dict[str, Any]]:
        """The `rules` of the main webhook entry (kinds without conditions of their own)."""
        return _rules_of(k for k in self._kinds if not k.webhook)

    def webhooks(self) -> list[dict[str, Any]]:
        """One webhook entry per `Kind.webhook`: its name prefix, rules and matchConditions.

        The main entry (prefix "") comes first; an entry's name is ``<prefix>.<main name>``.
        """
        prefixes = sorted({k.webhook for k in self._kinds}, key=lambda p: (p != "", p))
        entries = []
        for prefix in prefixes:
            members = [k for k in self._kinds if k.webhook == prefix]
            entries.append(
                {
                    "prefix": prefix,
                    "rules": _rules_of(members),
                    "matchConditions": [c.as_dict() for c in members[0].match_conditions],
                }
            )
        return entries


def _rules_of(kinds: Iterable[Kind[Any]]) -> list[dict[str, Any]]:
    """Webhook `rules` for `kinds`: one rule per group, versions and operations."""
    grouped: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for k in kinds:
        grouped.setdefault((k.group, k.versions, k.operations), []).append(k.resource)
    return [
        {
            "apiGroups": [group],
            "apiVersions": list(versions),
            "operations": list(operations),
            "resources": resources,
            "scope": "Namespaced",
        }
        for (group, versions, operations), resources in grouped.items()
    ]
