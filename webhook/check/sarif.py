"""The checker's report as SARIF 2.1.0, the format code-scanning tools read.

One run of the tool `egress-webhook`; its rules are every rule the engine has (ids are
the rule names findings carry, stable across releases), each with its summary, its
full description and a link to its row in the README. One result per finding, at the
line of the offending field: a denial is an ``error``, a warn-mode violation or advice
a ``warning``. Objects are named as logical locations (``ServiceEntry/payments/stripe``).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

from webhook import __version__
from webhook.check.report import CheckedObject, CheckReport, Finding
from webhook.check.rule_docs import README_URL, RuleDoc, rule_docs

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)


def render_sarif(report: CheckReport) -> str:
    """One SARIF log (JSON) for the whole report."""
    rules = [_rule(doc) for doc in rule_docs()]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for checked in report.results:
        for finding in checked.findings():
            rule_id = finding.violation.rule
            if rule_id not in index:  # a rule no module declares: still reported, never lost
                index[rule_id] = len(rules)
                rules.append({"id": rule_id, "shortDescription": {"text": f"Rule {rule_id}."}})
            results.append(_result(checked, finding, index[rule_id]))
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "egress-webhook",
                        "version": __version__,
                        "informationUri": README_URL,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(doc: RuleDoc) -> dict[str, Any]:
    return {
        "id": doc.name,
        "name": "".join(part.title() for part in doc.name.split("-")),
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": doc.description},
        "helpUri": doc.help_uri,
        "help": {
            "text": f"{doc.summary} See {doc.help_uri}",
            "markdown": f"{doc.summary} See [the rule table]({doc.help_uri}).",
        },
        "defaultConfiguration": {"level": "error"},
    }


def _result(checked: CheckedObject, finding: Finding, rule_index: int) -> dict[str, Any]:
    decision = checked.decision
    violation = finding.violation
    where = f" ({violation.field})" if violation.field else ""
    logical = f"{decision.kind}/{decision.namespace}/{decision.name}"
    return {
        "ruleId": violation.rule,
        "ruleIndex": rule_index,
        "level": finding.level,
        "message": {"text": f"{decision.object_ref}{where}: {violation.message}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(checked.origin.file)},
                    "region": {"startLine": finding.line},
                },
                "logicalLocations": [
                    {"fullyQualifiedName": logical, "kind": "object"},
                ],
            }
        ],
        "properties": {"field": violation.field, "object": logical},
    }


def _uri(file: str) -> str:
    """A relative URI reference for a path as given (code scanning resolves it in the repo)."""
    return quote(file.replace(os.sep, "/"))
