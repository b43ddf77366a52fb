"""What the engine returns: the violations each rule found and the verdict for one object."""

from __future__ import annotations

from dataclasses import dataclass, field

#: A violation's field and message are cut (in the middle) past these lengths, and a
#: denial lists at most MAX_LISTED violations: an object full of bad values still gets a
#: message the API server, the log and a terminal can carry.
MAX_FIELD_CHARS = 256
MAX_MESSAGE_CHARS = 1024
MAX_LISTED = 50


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = limit - len(" ... ")
    return f"{text[: keep // 2]} ... {text[-(keep - keep // 2) :]}"


@dataclass(frozen=True, slots=True)
class Violation:
    """One thing a rule found wrong with an object.

    `message` is the sentence a person reads: it names the value and what would be
    allowed; `field` is the path of the offending field (``spec.hosts[0]``); `rule`
    is the rule's name (the module name under ``webhook/policy/rules``).
    """

    rule: str
    field: str
    message: str
    #: A non-fatal finding: always reported as a warning, never a reason to deny.
    advisory: bool = False

    def __post_init__(self) -> None:
        # Rules quote tenant values; whatever they hold, a finding stays small.
        object.__setattr__(self, "field", _bounded(self.field, MAX_FIELD_CHARS))
        object.__setattr__(self, "message", _bounded(self.message, MAX_MESSAGE_CHARS))

    def as_warning(self) -> str:
        """The one-line form the API server shows as a warning."""
        return f"{self.field}: {self.message} [{self.rule}]"


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict for one object.

    `allowed` already reflects the policy mode: in ``warn`` mode a non-compliant
    object is allowed and its violations are reported through `warnings`.
    `violations` never holds advisory findings; those are only in `warnings`.
    `handled` is False for kinds the engine does not check (they are allowed).
    `advice` holds the advisory findings behind the last of `warnings`, for reports that
    place a finding by its field (the checker's SARIF).
    """

    kind: str
    namespace: str
    name: str
    allowed: bool
    violations: tuple[Violation, ...] = ()
    warnings: tuple[str, ...] = ()
    handled: bool = True
    exempt: bool = False
    rules_hit: tuple[str, ...] = field(default=())
    advice: tuple[Violation, ...] = ()

    @property
    def object_ref(self) -> str:
        """``Kind namespace/name`` as a person would say it."""
        return f"{self.kind} {self.namespace}/{self.name}"

    def message(self) -> str:
        """One readable message listing every violation, for the API server to show."""
        if not self.violations:
            return f"{self.object_ref} complies with the egress policy"
        lines = [
            f"{self.object_ref} violates the egress policy "
            f"({len(self.violations)} violation{'s' if len(self.violations) != 1 else ''}):"
        ]
        lines.extend(f"- {v.field}: {v.message} [{v.rule}]" for v in self.violations[:MAX_LISTED])
        if len(self.violations) > MAX_LISTED:
            lines.append(f"- ... and {len(self.violations) - MAX_LISTED} more")
        return "\n".join(lines)
