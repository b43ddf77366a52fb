"""The Kubernetes client (kubernetes_asyncio) and one list of a kind, as plain JSON objects.

Core kinds go through the typed core API, every other group through CustomObjectsApi
(its paths are the generic ``/apis/<group>/<version>/<resource>``); responses are read
raw, so the engine sees objects exactly as the API server stores them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client, config
from kubernetes_asyncio.client.exceptions import ApiException

from webhook.cluster.kinds import WatchedKind
from webhook.errors import ClusterAccessError

__all__ = [
    "ApiException",
    "ClusterAccessError",
    "api_client",
    "list_function",
    "list_kind",
    "read_json",
]


async def api_client(kubeconfig: Path | None, *, in_cluster: bool = False) -> client.ApiClient:
    """A client for the kubeconfig's current context, or the pod's service account."""
    configuration = client.Configuration()
    try:
        if in_cluster:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        else:
            await config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None,
                client_configuration=configuration,
            )
    except (config.ConfigException, OSError) as exc:
        where = "the in-cluster service account" if in_cluster else f"kubeconfig {kubeconfig}"
        raise ClusterAccessError(f"cannot load {where}: {exc}") from exc
    return client.ApiClient(configuration=configuration)


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def list_function(
    api: client.ApiClient, kind: WatchedKind, namespace: str | None = None
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """The generated list (and watch) call for `kind`, and its positional arguments."""
    if kind.group == "":
        core = client.CoreV1Api(api)
        if namespace is None:
            return getattr(core, f"list_{_snake(kind.kind)}_for_all_namespaces"), ()
        return getattr(core, f"list_namespaced_{_snake(kind.kind)}"), (namespace,)
    custom = client.CustomObjectsApi(api)
    if namespace is None:
        return custom.list_cluster_custom_object, (kind.group, kind.version, kind.resource)
    return custom.list_namespaced_custom_object, (
        kind.group,
        kind.version,
        namespace,
        kind.resource,
    )


async def list_kind(
    api: client.ApiClient, kind: WatchedKind, namespace: str | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Every object of `kind` (in `namespace`, or all) and the list's resourceVersion.

    Raises ApiException (404 when the kind is not served: its CRD is not installed).
    """
    function, args = list_function(api, kind, namespace)
    document = await read_json(await function(*args, _preload_content=False))
    items = document.get("items") or []
    for item in items:  # list items carry no apiVersion/kind of their own
        item.setdefault("apiVersion", kind.api_version)
        item.setdefault("kind", kind.kind)
    return items, str((document.get("metadata") or {}).get("resourceVersion") or "")


async def read_json(response: Any) -> dict[str, Any]:
    """The JSON body of a raw (``_preload_content=False``) response.

    Raises ApiException for a non-2xx status: unlike a preloaded call, kubernetes_asyncio
    hands a raw response back whatever its status.
    """
    try:
        body = await response.read()
        if not 200 <= response.status <= 299:
            raise ApiException(status=response.status, reason=response.reason)
    finally:
        response.release()
    document = json.loads(body)
    return document if isinstance(document, dict) else {}
