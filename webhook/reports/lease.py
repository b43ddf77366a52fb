"""Leader election on a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it.

Every replica runs a LeaseElector; the one holding the Lease writes the PolicyReports.

- **Acquire**: a Lease that is absent is created (the create that loses gets 409); one
  whose holder is empty, or whose record has not changed for leaseDurationSeconds *as
  this replica observed it* (its own monotonic clock, never the holder's timestamps), is
  taken over by a replace conditional on the resourceVersion read: of two replicas that
  try at once, one gets 409 and stays a follower.
- **Renew**: the leader replaces the Lease (again conditional) every `retry_period`. A
  leader that has not renewed for `renew_deadline` steps down *before* the others may
  take over (`renew_deadline` < `lease_duration`), so two replicas never both believe
  they lead, give or take one write in flight.
- **Release**: on shutdown (SIGTERM) the leader empties holderIdentity, so a successor
  takes over at once instead of waiting for the Lease to expire.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from kubernetes_asyncio import client

from webhook.cluster.client import ApiException, read_json

log = logging.getLogger("webhook.reports")

_ERRORS = (ApiException, aiohttp.ClientError, OSError, asyncio.TimeoutError)


@dataclass(frozen=True, slots=True)
class LeaseConfig:
    """Which Lease, who we are, and the timings (client-go's defaults: 15 s, 10 s, 2 s)."""

    name: str
    namespace: str
    identity: str
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError(
                "lease timings need 0 < retry_period < renew_deadline < lease_duration, got "
                f"{self.retry_period} < {self.renew_deadline} < {self.lease_duration}"
            )


def _micro_time(now: dt.datetime) -> str:
    """RFC 3339 with exactly six fraction digits: what a MicroTime field parses."""
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    """Campaigns for the Lease until cancelled; `leading` says whether we hold it."""

    def __init__(
        self,
        api: client.ApiClient,
        config: LeaseConfig,
        *,
        on_change: Callable[[bool], None] = lambda leading: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.leading = False
        self._leases = client.CoordinationV1Api(api)
        self._on_change = on_change
        self._clock = clock
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._renewed_at = 0.0

    async def run(self) -> None:
        """Acquire, then renew, every retry_period; step down when renewing fails too long."""
        while True:
            held = await self.try_acquire_or_renew()
            if held:
                self._renewed_at = self._clock()
                self._set(True)
            elif self.leading and (
                held is False or self._clock() - self._renewed_at > self.config.renew_deadline
            ):
                self._set(False)
            await asyncio.sleep(self.config.retry_period)

    async def try_acquire_or_renew(self) -> bool | None:
        """True: we hold the Lease now; False: another replica does; None: could not tell."""
        try:
            lease = await self._read()
            if lease is None:
                return await self._write(None, self._spec({}))
            spec = lease.get("spec") or {}
            self._observe(spec)
            holder = spec.get("holderIdentity") or ""
            expired = self._clock() - self._observed_at > self._duration(spec)
            if holder and holder != self.config.identity and not expired:
                return False
            return await self._write(lease, self._spec(spec))
        except _ERRORS as exc:
            log.warning(
                "Lease %s/%s: %s",
                self.config.namespace,
                self.config.name,
                exc,
                extra={"fields": {"event": "lease_error", "error": str(exc)}},
            )
            return None

    async def release(self) -> None:
        """Give the Lease up (shutdown), if we hold it: the next replica need not wait."""
        if not self.leading:
            return
        self._set(False)
        try:
            lease = await self._read()
            spec = (lease or {}).get("spec") or {}
            if lease is None or spec.get("holderIdentity") != self.config.identity:
                return
            now = _micro_time(dt.datetime.now(dt.UTC))
            released = {**spec, "holderIdentity": None, "leaseDurationSeconds": 1,
                        "renewTime": now, "acquireTime": now}  # fmt: skip
            await self._write(lease, released)
        except _ERRORS as exc:
            log.warning("could not release Lease %s: %s", self.config.name, exc)

    def _set(self, leading: bool) -> None:
        if leading == self.leading:
            return
        self.leading = leading
        log.info(
            "%s the PolicyReport writer (Lease %s/%s, identity %s)",
            "became" if leading else "stopped being",
            self.config.namespace,
            self.config.name,
            self.config.identity,
            extra={"fields": {"event": "leader" if leading else "follower"}},
        )
        self._on_change(leading)

    def _observe(self, spec: dict[str, Any]) -> None:
        """Start the expiry clock again whenever the holder's record changes."""
        record = tuple(spec.get(k) for k in ("holderIdentity", "renewTime", "leaseTransitions"))
        if record != self._observed:
            self._observed, self._observed_at = record, self._clock()

    def _duration(self, spec: dict[str, Any]) -> float:
        value = spec.get("leaseDurationSeconds")
        return float(value) if isinstance(value, int) else self.config.lease_duration

    def _spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The record to write: ours, renewed now (a takeover counts a transition)."""
        now = _micro_time(dt.datetime.now(dt.UTC))
        ours = spec.get("holderIdentity") == self.config.identity
        transitions = int(spec.get("leaseTransitions") or 0)
        return {
            "holderIdentity": self.config.identity,
            "leaseDurationSeconds": round(self.config.lease_duration),
            "acquireTime": spec.get("acquireTime") if ours else now,
            "renewTime": now,
            "leaseTransitions": transitions if ours or not spec else transitions + 1,
        }

    async def _read(self) -> dict[str, Any] | None:
        try:
            response = await self._leases.read_namespaced_lease(
                self.config.name, self.config.namespace, _preload_content=False
            )
            return await read_json(response)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    async def _write(self, lease: dict[str, Any] | None, spec: dict[str, Any]) -> bool:
        """Create, or replace at the resourceVersion read; False when another write won (409)."""
        metadata: dict[str, Any] = {"name": self.config.name, "namespace": self.config.namespace}
        if lease is not None:
            metadata["resourceVersion"] = lease["metadata"]["resourceVersion"]
        body: Any = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
                "spec": spec}  # fmt: skip
        try:
            if lease is None:
                call = self._leases.create_namespaced_lease(self.config.namespace, body,
                                                            _preload_content=False)  # fmt: skip
            else:
                call = self._leases.replace_namespaced_lease(
                    self.config.name, self.config.namespace, body, _preload_content=False
                )
            written = await read_json(await call)
        except ApiException as exc:
            if exc.status == 409:  # created or updated by another replica since we read
                return False
            raise
        self._observe(written.get("spec") or {})
        return spec.get("holderIdentity") == self.config.identity
