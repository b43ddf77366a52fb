"""JUnit XML for `check` and `test`: parseable, counts right, failures explained."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from webhook.check.junit import JUnitCase, JUnitSuite, check_junit, render_junit
from webhook.check.manifests import Origin
from webhook.check.report import CheckedObject, build_report
from webhook.policy.decision import Decision, Violation

DENIED = Decision(
    kind="ServiceEntry",
    namespace="default",
    name="exfil",
    allowed=False,
    violations=(Violation("service-entry-hosts", "spec.hosts[0]", 'host "evil\x00" no'),),
)
WARNED = Decision(
    kind="ServiceEntry",
    namespace="team",
    name="soft",
    allowed=True,
    violations=(Violation("service-entry-ports", "spec.ports[0]", "port 80"),),
    warnings=("spec.ports[0]: port 80 [service-entry-ports]",),
)
ALLOWED = Decision(kind="VirtualService", namespace="default", name="ok", allowed=True)


def parse(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode())  # noqa: S314 - our own output, parsed to check it


def report() -> list[CheckedObject]:
    origin = Origin("m.yaml", 1, 3)
    return [
        CheckedObject(origin, DENIED, {"spec.hosts[0]": 9}),
        CheckedObject(origin, WARNED, {"spec.ports[0]": 12}),
        CheckedObject(origin, ALLOWED),
    ]


def test_check_junit_fails_denied_objects_with_their_findings_at_field_lines() -> None:
    root = parse(check_junit(build_report(report())))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "0")
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [
        "ServiceEntry default/exfil",
        "ServiceEntry team/soft",
        "VirtualService default/ok",
    ]
    failure = cases[0].find("failure")
    assert failure is not None
    assert failure.get("message") == "ServiceEntry default/exfil violates the egress policy"
    # a NUL from a tenant's value cannot go into XML: it is replaced, the document stays valid
    assert failure.text == 'spec.hosts[0] (line 9): host "evil\ufffd" no [service-entry-hosts]'
    out = cases[1].find("system-out")
    assert out is not None
    assert out.text == "warning: spec.ports[0] (line 12): port 80 [service-entry-ports]"
    assert cases[1].find("failure") is None


def test_fail_on_warnings_fails_warned_objects_too() -> None:
    root = parse(check_junit(build_report(report()), fail_on="warnings"))
    assert root.get("failures") == "2"
    failure = root.findall("./testsuite/testcase")[1].find("failure")
    assert failure is not None
    assert "has warnings" in (failure.get("message") or "")


def test_errors_are_counted_apart_from_failures() -> None:
    suite = JUnitSuite(
        "s",
        [
            JUnitCase("a", "c"),
            JUnitCase("b", "c", failure="x"),
            JUnitCase("d", "c", "f", 4, "y", error=True),
        ],
        file="s.yaml",
    )
    root = parse(render_junit([suite]))
    element = root.find("testsuite")
    assert element is not None
    assert (element.get("tests"), element.get("failures"), element.get("errors")) == ("3", "1", "1")
    last = root.findall("./testsuite/testcase")[2]
    assert (last.get("file"), last.get("line")) == ("f", "4")
    assert last.find("error") is not None
