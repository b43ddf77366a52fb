"""Every rule's stable id, summary and documentation anchor, read from the rules themselves.

A rule's id is its name (``RULE`` in its module under ``webhook/policy/rules``), the
name every finding carries; its summary is the first line of the module docstring,
which also says in full what the verdict rests on. Code-scanning tools (SARIF) show
these next to a finding, with a link to the rule's row in the README's rule table
(``README.md#rule-<name>``; a test holds every rule to having that anchor).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cache

from webhook.policy.engine import SCHEMA_RULE
from webhook.policy.kinds import KINDS

#: The README the anchors point into (its rule table, "What the engine decides").
README_URL = "https://github.com/istio-egress-webhook/istio-egress-webhook/blob/main/README.md"

_SCHEMA_DOC = (
    "Schema: the object is well-formed and every spec field is one the webhook knows.\n\n"
    "A malformed object, or a field the webhook does not know, is refused: the webhook "
    "cannot verify where such a field sends traffic."
)


@dataclass(frozen=True, slots=True)
class RuleDoc:
    """What a report says about a rule."""

    name: str
    summary: str
    description: str

    @property
    def anchor(self) -> str:
        """The id of the rule's row in the README's rule table."""
        return f"rule-{self.name}"

    @property
    def help_uri(self) -> str:
        return f"{README_URL}#{self.anchor}"


@cache
def rule_docs() -> tuple[RuleDoc, ...]:
    """Every rule of every registered kind (in registry order, once each), then `schema`."""
    docs: dict[str, RuleDoc] = {}
    for kind in KINDS:
        for rule in kind.rules:
            module = sys.modules[rule.__module__]
            name = getattr(module, "RULE", None)
            if isinstance(name, str) and name not in docs:
                docs[name] = _doc(name, module.__doc__ or name)
    docs[SCHEMA_RULE] = _doc(SCHEMA_RULE, _SCHEMA_DOC)
    return tuple(docs.values())


def rule_doc(name: str) -> RuleDoc:
    """The rule named `name`; a name no module declares still gets an entry (never a crash)."""
    for doc in rule_docs():
        if doc.name == name:
            return doc
    return RuleDoc(name, f"Rule {name}.", f"Rule {name}.")


def _doc(name: str, docstring: str) -> RuleDoc:
    text = docstring.strip()
    summary = text.splitlines()[0].strip() if text else name
    return RuleDoc(name=name, summary=summary, description=text)
