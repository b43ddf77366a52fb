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
        """The ValidatingWebhookConfiguration `rules` that send exactly these kinds to us."""
        grouped: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
        for k in self._kinds:
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
