"""Keep the PolicyReports in the cluster equal to the last audit's, writing only what changed.

Reads the reports this webhook owns (label MANAGED_BY) in one list, then per namespace:
create when missing, replace (conditional on the resourceVersion read) when the results
or summary differ, nothing when equal; a report whose namespace no longer holds audited
objects is deleted. A conflict (someone wrote in between) is retried on the next round.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes_asyncio import client

from webhook.cluster.client import ApiException, read_json
from webhook.reports.policy_report import GROUP, MANAGED_BY, PLURAL, POLICY, VERSION

log = logging.getLogger("webhook.reports")

_COMPARED = ("summary", "results")


@dataclass(slots=True)
class WriteCounts:
    """What one round of writes did."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0


def _same(current: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    if any(current.get(k) != desired.get(k) for k in _COMPARED):
        return False
    meta_now, meta_wanted = current.get("metadata") or {}, desired["metadata"]
    return all(
        (meta_now.get(k) or {}) == (meta_wanted.get(k) or {}) for k in ("labels", "annotations")
    )


class ReportWriter:
    """Writes PolicyReports through CustomObjectsApi."""

    def __init__(self, api: client.ApiClient) -> None:
        self._custom = client.CustomObjectsApi(api)

    async def owned(self) -> dict[str, dict[str, Any]]:
        """The reports this webhook wrote, by namespace."""
        selector = ",".join(f"{k}={v}" for k, v in MANAGED_BY.items())
        response = await self._custom.list_cluster_custom_object(
            GROUP, VERSION, PLURAL, label_selector=selector, _preload_content=False
        )
        items = (await read_json(response)).get("items") or []
        return {
            item["metadata"]["namespace"]: item
            for item in items
            if item["metadata"].get("name") == POLICY
        }

    async def write(self, desired: Mapping[str, dict[str, Any]]) -> WriteCounts:
        """Make the cluster's reports `desired` (namespace -> PolicyReport)."""
        counts = WriteCounts()
        current = await self.owned()
        for namespace, document in desired.items():
            try:
                await self._put(current.get(namespace), namespace, document, counts)
            except ApiException as exc:
                counts.failed += 1
                self._failed("write", namespace, exc)
        for namespace in sorted(set(current) - set(desired)):
            try:
                await self._custom.delete_namespaced_custom_object(
                    GROUP, VERSION, namespace, PLURAL, POLICY
                )
                counts.deleted += 1
            except ApiException as exc:
                if exc.status != 404:
                    counts.failed += 1
                    self._failed("delete", namespace, exc)
        return counts

    async def _put(
        self,
        existing: dict[str, Any] | None,
        namespace: str,
        document: dict[str, Any],
        counts: WriteCounts,
    ) -> None:
        if existing is None:
            await self._custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, document
            )
            counts.created += 1
        elif _same(existing, document):
            counts.unchanged += 1
        else:
            version = existing["metadata"]["resourceVersion"]
            body = {**document, "metadata": {**document["metadata"], "resourceVersion": version}}
            await self._custom.replace_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, POLICY, body
            )
            counts.updated += 1

    @staticmethod
    def _failed(action: str, namespace: str, exc: ApiException) -> None:
        # 409: written in between (retried next round); 403/404: namespace terminating or gone
        log.warning(
            "PolicyReport %s/%s: %s failed: HTTP %s %s",
            namespace,
            POLICY,
            action,
            exc.status,
            exc.reason,
            extra={"fields": {"event": "report_write_failed", "namespace": namespace,
                              "status": exc.status}},
        )  # fmt: skip
