"""Gateway API service: a Gateway serves at the egress gateway exactly when it is approved.

Istio programs a Gateway API Gateway's listeners, and every route attached to it, at the
pods behind the Service extractGatewayServices names (conversion.go; IsManaged): the
Service it deploys, ``<name>-<class>`` or its ``gateway.istio.io/name-override``, or an
existing Service a ``Hostname`` address names (Istio's manual deployment). The egress
gateway Services are egressGateway.service and ``<name>-istio`` of each approved Gateway
API Gateway (gateway_routes.egress_gateway_services; mesh routes may send external
traffic to them). So a Gateway that is not in egressGateway.gateways may not serve at
one (a Hostname address of the egress gateway binds the tenant's routes to the egress
pods, a name-override or a waypoint named ``<approved>-istio`` takes over the name mesh
routes trust), and an approved one must serve at one (renamed, its routes' egress would
leave from a Service nothing vouches for).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.gateway_api_gateways import GatewayApiGatewaySubject

RULE = "gateway-api-service"


def check(subject: GatewayApiGatewaySubject) -> Iterator[Violation]:
    """An unapproved Gateway on an egress gateway Service, or an approved one off it."""
    egress = subject.egress_services()
    approved = subject.is_approved
    for service in subject.services:
        if service.fqdn in egress and not approved:
            yield Violation(
                RULE,
                service.field,
                f'serves at "{service.fqdn}" ({service.how}), an egress gateway Service: its '
                "listeners and routes would run on the egress gateway's pods, or take the name "
                f'mesh routes send external traffic to, but Gateway "{subject.ref}" is not in '
                "egressGateway.gateways; use another name or address",
            )
        elif approved and service.fqdn not in egress:
            yield Violation(
                RULE,
                service.field,
                f'approved egress Gateway "{subject.ref}" serves at "{service.fqdn}" '
                f"({service.how}), not at an egress gateway Service "
                f"({', '.join(sorted(egress))}): routes accepted at it as egress routes would "
                "leave from pods nothing vouches for; remove the name-override or address",
            )
