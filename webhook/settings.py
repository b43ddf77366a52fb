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
