"""The endpoints: POST /validate (one decision per review), /healthz, /readyz, /metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiohttp import web

from webhook import review
from webhook.policy.decision import Decision
from webhook.policy.engine import evaluate
from webhook.server.middlewares import REVIEW, STARTED
from webhook.server.state import CERTIFICATE, IN_FLIGHT, METRICS, POLICY

log = logging.getLogger("webhook.decision")


async def validate(request: web.Request) -> web.Response:
    """Decide one AdmissionReview (already parsed by the admission_body middleware)."""
    admission = request[REVIEW]
    req = admission.request
    policy = request.app[POLICY]
    decision: Decision | None = None
    if req.operation in review.EVALUATED_OPERATIONS and req.object is not None:
        decision = evaluate(req.object, policy.compiled, namespace=req.namespace or None)

    outcome = _outcome(decision)
    annotations = {"decision": outcome, "policy": policy.sha256[:12]}
    if decision is not None and decision.rules_hit:
        annotations["rules"] = ",".join(decision.rules_hit)
    if decision is None or decision.allowed:
        response = review.allowed(
            req.uid,
            warnings=decision.warnings if decision else (),
            audit_annotations=annotations,
        )
    else:
        response = review.denied(
            req.uid,
            decision.message(),
            warnings=decision.warnings,
            audit_annotations=annotations,
        )
    body = review.response_review(admission, response)

    elapsed = time.perf_counter() - request[STARTED]
    kind = req.kind.kind or (decision.kind if decision else "")
    counted = outcome if outcome in ("denied", "warned") else "allowed"
    request.app[METRICS].observe_review(kind, req.operation, counted, elapsed)
    log.info(
        "%s %s %s/%s: %s",
        req.operation,
        kind,
        decision.namespace if decision else req.namespace,
        decision.name if decision else req.name,
        outcome,
        extra={
            "fields": {
                "event": "decision",
                "uid": req.uid,
                "kind": kind,
                "namespace": decision.namespace if decision else req.namespace,
                "name": decision.name if decision else req.name,
                "operation": req.operation,
                "user": req.user_info.username,
                "dry_run": req.dry_run,
                "allowed": response.allowed,
                "decision": outcome,
                "rules_hit": list(decision.rules_hit) if decision else [],
                "violations": len(decision.violations) if decision else 0,
                "warnings": len(response.warnings or ()),
                "latency_ms": round(elapsed * 1000, 3),
            }
        },
    )
    return web.json_response(body)


def _outcome(decision: Decision | None) -> str:
    """The decision as the audit log and metrics name it."""
    if decision is None:
        return "not-evaluated"
    if not decision.allowed:
        return "denied"
    if decision.exempt:
        return "exempt"
    if not decision.handled:
        return "not-handled"
    if decision.violations or decision.warnings:
        return "warned"
    return "allowed"


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness, with what is serving and any reload that failed."""
    policy = request.app[POLICY]
    certificate = request.app[CERTIFICATE]
    failure = policy.last_failure
    # a policy and a certificate are always loaded (create_app refuses to start
    # without them); only a drain makes the server unready
    draining = request.app[IN_FLIGHT].draining
    detail: dict[str, Any] = {
        "ready": not draining,
        "policy": {
            "path": str(policy.path),
            "sha256": policy.sha256,
            "mode": policy.compiled.mode,
            "loadedAt": policy.loaded_at.isoformat(),
            "lastReloadError": None
            if failure is None
            else {
                "at": failure.at.isoformat(),
                "problems": list(failure.problems),
                "message": "the policy file on disk failed to load; "
                "the last good policy is still serving",
            },
        },
        "certificate": {
            "path": str(certificate.cert_path),
            "serial": f"{certificate.info.serial:x}",
            "subject": certificate.info.subject,
            "notAfter": certificate.info.not_after.isoformat(),
            "lastReloadError": certificate.last_error,
        },
    }
    return web.json_response(detail, status=503 if draining else 200)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition."""
    registry = request.app[METRICS]
    return web.Response(body=registry.render(), headers={"Content-Type": registry.content_type})
