"""EnvoyFilter through the real API server: raw patch values reach us whole and are judged;
Istio 1.30's WAYPOINT context and match.waypoint are kept and judged."""

from __future__ import annotations

import json

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import dump
from tests.unit.sidecar_envoy_filter_objects import (
    HCM,
    LOCAL_RATELIMIT,
    envoy_filter,
    local_ratelimit_filter,
    lua,
    patch,
)

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'
RESOURCE = "envoyfilters.networking.istio.io"


@pytest.mark.usefixtures("webhook")
def test_inbound_lua_is_denied_whatever_its_context(cluster: Cluster, namespace: str) -> None:
    code = "function envoy_on_request(h) h:httpCall('outbound|443||api.github.com', {}, '', 1) end"
    bad = envoy_filter(
        patch("HTTP_FILTER", lua(code), context="SIDECAR_INBOUND", listener=HCM),
        namespace=namespace,
        name="lua-call-out",
    )

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.configPatches[0].patch.value.typed_config.inline_code" in proc.stderr
    assert "[envoy-filter-upstreams]" in proc.stderr
    assert not cluster.stored(RESOURCE, namespace, "lua-call-out")


@pytest.mark.usefixtures("webhook")
def test_a_cluster_patch_is_denied(cluster: Cluster, namespace: str) -> None:
    bad = envoy_filter(
        patch(
            "CLUSTER", {"type": "ORIGINAL_DST", "lb_policy": "CLUSTER_PROVIDED"}, operation="MERGE"
        ),
        namespace=namespace,
        name="passthrough",
    )

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.configPatches[0].applyTo: applyTo CLUSTER" in proc.stderr
    assert not cluster.stored(RESOURCE, namespace, "passthrough")


@pytest.mark.usefixtures("webhook")
def test_the_local_rate_limit_task_is_admitted_and_its_value_kept(
    cluster: Cluster, namespace: str
) -> None:
    good = local_ratelimit_filter()
    good["metadata"]["namespace"] = namespace

    cluster.kubectl("apply", "-f", "-", input=dump(good))

    name = good["metadata"]["name"]
    proc = cluster.kubectl("get", RESOURCE, name, "-n", namespace, "-o", "json")
    value = json.loads(proc.stdout)["spec"]["configPatches"][0]["patch"]["value"]
    # patch.value is preserved whole (x-kubernetes-preserve-unknown-fields): what we walk is
    # what istiod converts.
    assert value == good["spec"]["configPatches"][0]["patch"]["value"]


WAYPOINT_REF = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "waypoint"}


@pytest.mark.usefixtures("webhook")
def test_a_waypoint_rate_limit_is_admitted_and_its_match_kept(
    cluster: Cluster, namespace: str
) -> None:
    # istio/api v1.30.8: context WAYPOINT and match.waypoint, which the CRD requires together
    waypoint = {"filter": {"name": "envoy.filters.network.http_connection_manager"}}
    good = envoy_filter(
        patch("HTTP_FILTER", LOCAL_RATELIMIT, context="WAYPOINT", waypoint=waypoint),
        namespace=namespace,
        name="waypoint-ratelimit",
        targetRefs=[WAYPOINT_REF],
    )

    cluster.kubectl("apply", "-f", "-", input=dump(good))

    proc = cluster.kubectl("get", RESOURCE, "waypoint-ratelimit", "-n", namespace, "-o", "json")
    assert json.loads(proc.stdout)["spec"]["configPatches"][0]["match"]["waypoint"] == waypoint


@pytest.mark.usefixtures("webhook")
def test_a_waypoint_route_patch_is_denied(cluster: Cluster, namespace: str) -> None:
    bad = envoy_filter(
        patch(
            "HTTP_ROUTE",
            {"route": {"cluster": "PassthroughCluster"}},
            operation="MERGE",
            context="WAYPOINT",
            waypoint={"route": {"name": "default"}},
        ),
        namespace=namespace,
        name="waypoint-passthrough",
        targetRefs=[WAYPOINT_REF],
    )

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.configPatches[0].match.context: applyTo HTTP_ROUTE in context WAYPOINT" in (
        proc.stderr
    )
    assert not cluster.stored(RESOURCE, namespace, "waypoint-passthrough")
