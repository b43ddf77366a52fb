"""The endpoints: POST /validate (one decision per review), /healthz, /readyz, /metrics."""

from __future__ import annotations

import socket
import time
from dataclasses import replace
from typing import Any

from aiohttp import web

from webhook import review
from webhook.cluster.view import ClusterView
from webhook.policy.decision import Decision
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.kinds import KINDS
from webhook.server.logs import DECISIONS
from webhook.server.metrics import gather_workers, merge_workers
from webhook.server.middlewares import REVIEW, STARTED, json_response
from webhook.server.state import CERTIFICATE, CLUSTER_VIEW, IN_FLIGHT, METRICS, POLICY, WORKER
from webhook.server.workers import Worker


async def validate(request: web.Request) -> web.Response:
    """Decide one AdmissionReview (already parsed by the admission_body middleware)."""
    admission = request[REVIEW]
    req = admission.request
    policy = request.app[POLICY]
    view = request.app.get(CLUSTER_VIEW)
    decision = _evaluate(req, policy.compiled, view)

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
    request.app[METRICS].observe_review(
        kind, req.operation, counted, elapsed, dry_run=bool(req.dry_run), verdict=decision
    )
    namespace = decision.namespace if decision else req.namespace
    name = decision.name if decision else req.name
    DECISIONS.info(
        f"{req.operation} {kind} {namespace}/{name}: {outcome}",
        {
            "event": "decision",
            "uid": req.uid,
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "operation": req.operation,
            "user": req.user_info.username,
            "dry_run": req.dry_run,
            "allowed": response.allowed,
            "decision": outcome,
            "rules_hit": list(decision.rules_hit) if decision else [],
            "violations": len(decision.violations) if decision else 0,
            "warnings": len(response.warnings or ()),
            "latency_ms": round(elapsed * 1000, 3),
        },
    )
    return json_response(body)


def _evaluate(
    req: review.AdmissionRequest, policy: CompiledPolicy, view: ClusterView | None
) -> Decision | None:
    """The engine's decision on the request, or None when the operation is not judged.

    CREATE and UPDATE judge the object (UPDATE against the old one, for
    existingViolations); with a cluster view, DELETE judges the object being removed,
    for kinds whose registry entry asks for DELETE (coverage kept). A stale view is
    said, never hidden.
    """
    namespace = req.namespace or None
    if req.operation in review.EVALUATED_OPERATIONS and req.object is not None:
        decision = evaluate(
            req.object,
            policy,
            namespace=namespace,
            view=view,
            operation=req.operation,
            old_object=req.old_object,
        )
    elif req.operation == "DELETE" and req.old_object is not None and view is not None:
        entry = KINDS.lookup(req.old_object.get("apiVersion"), req.old_object.get("kind"))
        if entry is None or "DELETE" not in entry.operations:
            return None
        decision = evaluate(
            req.old_object, policy, namespace=namespace, view=view, operation="DELETE"
        )
    else:
        return None
    if view is not None and view.stale and decision.handled and not decision.exempt:
        notice = (
            f"the webhook's cluster view is stale ({view.stale_reason}); "
            "checks that need it were refused"
        )
        decision = replace(decision, warnings=(notice, *decision.warnings))
    return decision


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
    view = request.app.get(CLUSTER_VIEW)
    # With a view, not ready until its first full list: coverage could not be judged.
    # With workers, not until every one listens: the API server keeps its connections
    # for minutes, and those made before a worker listened all stay with the others.
    worker = request.app.get(WORKER)
    listening = _workers_listening(worker) if worker is not None else None
    ready = (
        not draining
        and (view is None or view.synced)
        and (worker is None or listening == worker.count)
    )
    detail: dict[str, Any] = {
        "ready": ready,
        "mode": "cluster-view" if view is not None else "per-object",
        "workers": None
        if worker is None
        else {"count": worker.count, "listening": listening, "this": worker.index},
        "clusterView": view.status() if view is not None else None,
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
    return web.json_response(detail, status=200 if ready else 503)


def _workers_listening(worker: Worker) -> int:
    """How many workers listen: each opens its metrics socket once its port listens."""
    return sum(1 for i in range(worker.count) if worker.socket_path(i).is_socket())


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition; with workers, every worker's series, labelled `worker`."""
    registry = request.app[METRICS]
    view = request.app.get(CLUSTER_VIEW)
    if view is not None:
        registry.observe_view(view.status())
    worker = request.app.get(WORKER)
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if worker is None or (sock is not None and sock.family == socket.AF_UNIX):
        # a single server, or a sibling asking for this worker's own series
        return web.Response(body=registry.render(), headers={"Content-Type": registry.content_type})
    texts = await gather_workers(worker, registry.render().decode())
    return web.Response(body=merge_workers(texts), headers={"Content-Type": registry.content_type})
