"""A Gateway API Gateway read as Istio 1.28 reads it: which Service it serves, what its pods carry.

Istio programs a Gateway at the pods behind the Service(s) extractGatewayServices
(pilot/pkg/config/kube/gateway/conversion.go) names: with no address, or one
``IPAddress``, the Gateway is managed (IsManaged) and the deployment controller deploys
a Deployment and a Service ``<name>-<class>`` (getDefaultName; no suffix for the
waypoint, east-west and agentgateway classes, and possibly for a GatewayClass that is
not one of Istio's own, ``gateway.istio.io/name-override`` replaces the name);
otherwise every ``Hostname`` address is an existing Service the Gateway binds to (a short
name is ``<name>.<gateway namespace>.svc.<domain>``), which is how Istio's "manual
deployment" attaches a Gateway to pods it did not deploy. The deployed pods and Service
carry ``spec.infrastructure.labels`` and ``annotations``, or, when those are unset, the
Gateway's own labels and annotations (extractInfrastructureMetadata,
PILOT_ENABLE_GATEWAY_API_COPY_LABELS_ANNOTATIONS on by default; the kube-gateway and
waypoint templates put them on the pod template).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook.policy.gateway_routes import egress_gateway_services
from webhook.policy.index import CompiledPolicy
from webhook.policy.subject import Subject
from webhook.resources.base import ObjectMeta
from webhook.resources.gateway_api_gateway import GatewayApiGatewaySpec

NAME_OVERRIDE = "gateway.istio.io/name-override"
NETWORK_LABEL = "topology.istio.io/network"

#: Istio's built-in classes whose deployed Service is ``<name>-<class>`` (getDefaultName:
#: the ``istio`` class's ManagedGatewayController, and ``istio-remote``'s unmanaged one,
#: neither with ClassInfo.DisableNameSuffix; gatewaycommon/classinfo.go).
SUFFIXED_CLASSES = frozenset({"istio", "istio-remote"})

#: Istio's built-in classes whose deployed Service is named after the Gateway alone
#: (ClassInfo.DisableNameSuffix in gatewaycommon/classinfo.go): the waypoint and east-west
#: classes, and the agentgateway ones (PILOT_ENABLE_AGENTGATEWAY).
UNSUFFIXED_CLASSES = frozenset(
    {"istio-waypoint", "istio-east-west", "istio-agentgateway", "istio-agentgateway-waypoint"}
)


@dataclass(frozen=True, slots=True)
class GatewayService:
    """A Service whose pods the Gateway programs, and the field that names it."""

    field: str
    fqdn: str
    #: How the Service was chosen, for messages.
    how: str


@dataclass(frozen=True, slots=True)
class GatewayApiGatewaySubject(Subject[GatewayApiGatewaySpec]):
    """A Gateway API Gateway and the questions its rules ask about its pods and Service."""

    services: tuple[GatewayService, ...] = ()
    #: The labels its deployed pods carry, and the field they come from.
    pod_labels: dict[str, str] | None = None
    pod_labels_field: str = "metadata.labels"

    @classmethod
    def derived(
        cls,
        spec: GatewayApiGatewaySpec,
        metadata: ObjectMeta,
        namespace: str,
        policy: CompiledPolicy,
    ) -> dict[str, Any]:
        """Resolve the Service(s) it serves and its pods' labels once."""
        infra = spec.infrastructure
        if infra is not None and infra.labels is not None:
            labels, field = infra.labels, "spec.infrastructure.labels"
        else:
            labels, field = metadata.labels, "metadata.labels"
        return {
            "services": served_services(spec, metadata, namespace, policy.cluster_domain),
            "pod_labels": dict(labels),
            "pod_labels_field": field,
        }

    @property
    def ref(self) -> str:
        """``namespace/name`` as egressGateway.gateways spells it."""
        return f"{self.namespace}/{self.name}".lower()

    @property
    def is_approved(self) -> bool:
        """True when egressGateway.gateways lists this Gateway."""
        return self.ref in self.policy.egress_gateway_ref_names

    def egress_services(self) -> frozenset[str]:
        """The Services mesh routes may send external traffic to (gateway_routes)."""
        return egress_gateway_services(self.policy)


def is_managed(spec: GatewayApiGatewaySpec) -> bool:
    """IsManaged: Istio deploys the gateway unless addresses name an existing Service."""
    if not spec.addresses:
        return True
    return len(spec.addresses) == 1 and spec.addresses[0].type == "IPAddress"


def served_services(
    spec: GatewayApiGatewaySpec, metadata: ObjectMeta, namespace: str, cluster_domain: str
) -> tuple[GatewayService, ...]:
    """extractGatewayServices: the deployed Service, or the Services ``Hostname`` addresses name."""
    if is_managed(spec):
        override = metadata.annotations.get(NAME_OVERRIDE)
        if override:
            field, how = f"metadata.annotations[{NAME_OVERRIDE}]", "renamed by name-override"
            fqdn = f"{override}.{namespace}.svc.{cluster_domain}".lower()
            return (GatewayService(field, fqdn, how),)
        return tuple(
            GatewayService("metadata.name", f"{name}.{namespace}.svc.{cluster_domain}".lower(), how)
            for name, how in _deployed_names(metadata.name, spec.gateway_class_name)
        )
    services = []
    for i, address in enumerate(spec.addresses):
        if address.type != "Hostname":
            continue
        value = address.value.lower()
        fqdn = value if "." in value else f"{value}.{namespace}.svc.{cluster_domain}"
        services.append(GatewayService(f"spec.addresses[{i}].value", fqdn, "bound by address"))
    return tuple(services)


def _deployed_names(name: str, class_name: str) -> tuple[tuple[str, str], ...]:
    """getDefaultName: ``<name>-<class>``, or ``<name>`` for a class with DisableNameSuffix.

    The suffix is the controller's choice (ClassInfo, keyed by the GatewayClass's
    controllerName), and a GatewayClass is cluster-scoped and out of view: a class that is
    not one of Istio's built-in ones may name any of Istio's controllers, so both names are
    taken as possible.
    """
    suffixed = (f"{name}-{class_name}", "deployed for it")
    if class_name in SUFFIXED_CLASSES:
        return (suffixed,)
    unsuffixed = (name, "deployed for it")
    if class_name in UNSUFFIXED_CLASSES:
        return (unsuffixed,)
    return (
        suffixed,
        (
            name,
            f'deployed for it if class "{class_name}" is one of Istio\'s unsuffixed controllers',
        ),
    )
