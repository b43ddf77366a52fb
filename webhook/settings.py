"""Runtime settings of the admission server, validated once at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What `egress-webhook serve` needs; every flag may also come from an env var."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Path = Field(description="Policy file (reloaded when it changes on disk).")
    tls_cert: Path = Field(description="PEM serving certificate (chain), reloaded on change.")
    tls_key: Path = Field(description="PEM private key of the serving certificate.")
    # A pod must listen on all interfaces for its Service to reach it.
    host: str = Field(default="0.0.0.0", description="Address to listen on.")  # noqa: S104
    port: int = Field(default=8443, ge=0, le=65535, description="HTTPS port (0: any free port).")
    reload_interval: float = Field(
        default=2.0, gt=0, description="Seconds between checks of policy and certificate files."
    )
    shutdown_timeout: float = Field(
        default=25.0, ge=0, description="Seconds SIGTERM waits for in-flight reviews to finish."
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        gt=0,
        description="Largest AdmissionReview accepted (object and oldObject may each be ~3 MiB).",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a client has, from connecting, to finish the TLS handshake and "
        "send a request's line and headers; on a kept-alive connection, from the next "
        "request's first byte. A slower client is disconnected (slowloris).",
    )
    body_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a request body has to arrive once its headers are in; a slower "
        "one is answered 408 and its connection closed. The API server's own webhook "
        "timeout is 10 s by default, at most 30 s.",
    )
    idle_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds a kept-alive connection may wait for its next request. Longer "
        "than the API server's 90 s idle timeout, so that the client closes first and "
        "never sends a request on a connection the server is closing.",
    )
    max_connections: int = Field(
        default=4096,
        ge=1,
        description="Client connections open at once, TLS handshakes included (lowered to "
        "fit the open-file limit). At the limit a new connection replaces the one that has "
        "waited longest without a request in progress; if every one is busy, new ones wait "
        "in the kernel's queue.",
    )
    discard_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=0,
        description="Of a request body the server refuses (413, 415, 404...), how many bytes "
        "it still reads and throws away after answering, so that a client that writes its "
        "whole body before reading sees the answer instead of a reset.",
    )
    discard_timeout: float = Field(
        default=2.0,
        ge=0,
        description="Seconds spent at most on discarding a refused body (never while "
        "draining for shutdown); then the connection is closed.",
    )
    log_level: str = Field(default="INFO", description="Python log level name.")
    kubeconfig: Path | None = Field(
        default=None,
        description="Kubeconfig for the cluster view (None: no view unless in_cluster).",
    )
    in_cluster: bool = Field(
        default=False, description="Build the cluster view with the pod's service account."
    )
    view_stale_after: float = Field(
        default=30.0,
        gt=0,
        description=(
            "Seconds a watch may stay disconnected before the cluster view counts as stale "
            "(and the checks that need it fail closed)."
        ),
    )
    reports: bool = Field(
        default=True,
        description=(
            "With the cluster view: audit it continuously and write a PolicyReport per "
            "namespace (the Lease holder only)."
        ),
    )
    report_interval: float = Field(
        default=300.0, gt=0, description="Seconds between audits when nothing changes (resync)."
    )
    report_debounce: float = Field(
        default=2.0,
        ge=0,
        description="Seconds the view must stay unchanged before an audit (a burst is one).",
    )
    report_max_results: int = Field(
        default=500, gt=0, description="Results kept in one PolicyReport (failures first)."
    )
    lease_name: str = Field(
        default="egress-webhook-reports", description="Lease electing the report writer."
    )
    lease_namespace: str = Field(
        default="default", description="Namespace of the Lease (the pod's, in the chart)."
    )
    lease_duration: float = Field(
        default=15.0,
        ge=3,
        description=(
            "Seconds a Lease holder that stopped renewing keeps it (it steps down after 2/3 "
            "of this; replicas retry every 2/15 of it)."
        ),
    )

    @property
    def cluster_view(self) -> bool:
        """True when the server keeps a view of the cluster."""
        return self.kubeconfig is not None or self.in_cluster
