"""Fuzz inputs for POST /validate: real reviews, their mutations, and generated Istio objects.

One generator serves two drivers. Everything draws its choices from a `Source`: the
pytest suite hands it Hypothesis's `draw` (so a failure shrinks to a minimal input),
and `python -m bench.fuzz` a seeded `random.Random` (fast enough for a million
requests). Three families of input:

- structure-aware: AdmissionReviews around ServiceEntry and VirtualService objects
  built field by field from the Istio API (hosts, ports, endpoints, routes, matches,
  mirrors, rewrites, delegates, labels), with values drawn from the names the policy
  cares about, odd ones (IDN, trailing dots, wildcards, IPs), and now and then a value
  of the wrong JSON type;
- mutations of real reviews (examples/manifests): a node's type swapped, deleted,
  duplicated (in the tree, or as a duplicate JSON key), nested deeply, made huge (a
  string, a number, a list), `object.kind` made a dict or a list, and at the byte level
  invalid UTF-8, lone surrogates and truncation;
- for every input, `expectation` says what a correct answer is: HTTP 200 with an
  AdmissionReview for that uid, or a 4xx metav1.Status; never a 5xx.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent.parent
MANIFESTS = ROOT / "examples" / "manifests"

T = TypeVar("T")

#: Bounds that keep one input small enough for thousands per CI run; the maximal
#: (8 MiB) reviews are the reliability suite's.
MAX_LIST = 12
MAX_HUGE_STRING = 256 * 1024
MAX_HUGE_LIST = 500
#: Nesting built as Python objects stays well inside the recursion limit (json.dumps,
#: deepcopy); deeper nesting is written as bytes (see `encode`).
MAX_TREE_DEPTH = 200
MAX_BYTES_DEPTH = 100_000


class Source(Protocol):
    """Where choices come from: Hypothesis (shrinkable) or a seeded Random (fast)."""

    def choice(self, options: Sequence[T]) -> T: ...
    def integer(self, low: int, high: int) -> int: ...
    def chance(self, probability: float) -> bool: ...


class RandomSource:
    """Choices from a seeded random.Random."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability


class DrawSource:
    """Choices drawn through Hypothesis, inside a @st.composite strategy."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def choice(self, options: Sequence[T]) -> T:
        value: T = self.draw(st.sampled_from(options))
        return value

    def integer(self, low: int, high: int) -> int:
        value: int = self.draw(st.integers(low, high))
        return value

    def chance(self, probability: float) -> bool:
        # shrinks towards 0, that is False: towards the plainer input
        roll: int = self.draw(st.integers(0, 999))
        return roll >= round((1 - probability) * 1000)


# --- leaves -------------------------------------------------------------------------

HOSTS = (
    "api.github.com", "www.googleapis.com", "storage.googleapis.com", "*.googleapis.com",
    "googleapis.com", "db.example.com", "evil.example.org", "*.example.org", "*",
    "istio-egressgateway.istio-system.svc.cluster.local", "reviews", "reviews.default",
    "reviews.default.svc.cluster.local", "*.svc.cluster.local", "api.github.com.",
    "API.GITHUB.COM", "bücher.example", "xn--bcher-kva.example", "1.2.3.4", "::1",
    "10.0.0.0/8", "a..b", "", " ", "-a.example.com", "*.*.example.com", "foo*.example.com",
    "a" * 64 + ".example.com", "x.local", "localhost", "api.github.com:443",
)  # fmt: skip
NAMESPACES = ("default", "payments", "istio-system", "kube-system", "", "x" * 64, "Default")
PROTOCOLS = (
    "HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "TCP", "TLS", "UDP", "tls",
    "", "REDIS",
)  # fmt: skip
RESOLUTIONS = ("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS", "dns", "", "BOGUS")
LOCATIONS = ("MESH_EXTERNAL", "MESH_INTERNAL", "", "ELSEWHERE")
ADDRESSES = (
    "192.168.1.10", "192.168.1.0/24", "10.0.0.1", "0.0.0.0/0", "::/0", "2001:db8::1",
    "unix:///var/run/sock", "not-an-ip", "300.1.1.1", "",
)  # fmt: skip
GATEWAYS = (
    "mesh", "istio-system/istio-egressgateway", "istio-egressgateway", "./gw",
    "default/ingress", "istio-egressgateway.istio-system.svc.cluster.local", "",
)  # fmt: skip
PORTS = (443, 80, 5432, 9000, 8080, 0, 1, 65535, 65536, -1)
LABEL_KEYS = (
    "app", "istio.io/use-waypoint", "istio.io/ingress-use-waypoint", "internal.istio.io/x",
    "istio.io/rev", "",
)  # fmt: skip
LABEL_VALUES = ("web", "none", "istio-system/egress-waypoint", "waypoint", "")
API_VERSIONS = (
    "networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3",
    "networking.istio.io/v2", "v1", "",
)  # fmt: skip
KINDS = ("ServiceEntry", "VirtualService", "DestinationRule", "Secret", "")
OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT", "create", "")
ODD_STRINGS = ("\x00", "\ud800", "é", "\u202e", "${jndi:x}", "'; DROP", "\n\r\t", "%00", "…")
HUGE_NUMBERS = (10**400, -(10**400), 2**63, -(2**63) - 1, 1e308, -0.0, 1.5, 0.1)


def any_json(src: Source, depth: int = 0) -> Any:
    """A JSON value of any type (small): what a wrongly typed field holds."""
    kind = src.integer(0, 7 if depth < 2 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return src.chance(0.5)
    if kind == 2:
        return src.choice((0, 1, -1, 443, 2**31, *HUGE_NUMBERS))
    if kind == 3:
        return src.choice((*HOSTS[:6], *ODD_STRINGS))
    if kind == 4:
        return src.choice(("", "x"))
    if kind in (5, 6):
        return [any_json(src, depth + 1) for _ in range(src.integer(0, 3))]
    return {src.choice(("a", "hosts", "kind", "")): any_json(src, depth + 1)}


def _maybe(src: Source, value: Callable[[], Any], wrong: float = 0.04) -> Any:
    """`value()`, or (rarely) a value of some other JSON type in its place."""
    return any_json(src) if src.chance(wrong) else value()


def _list(src: Source, item: Callable[[], Any], high: int = 3) -> list[Any]:
    return [item() for _ in range(src.integer(0, min(high, MAX_LIST)))]


def _fields(src: Source, fields: dict[str, Callable[[], Any]], keep: float = 0.5) -> dict[str, Any]:
    """Some of `fields` (each present with probability `keep`), each maybe wrongly typed."""
    return {name: _maybe(src, make) for name, make in fields.items() if src.chance(keep)}


# --- Istio objects -------------------------------------------------------------------


def metadata(src: Source) -> dict[str, Any]:
    return _fields(
        src,
        {
            "name": lambda: src.choice(("se", "vs", "github", "x" * 253, "", "a.b")),
            "namespace": lambda: src.choice(NAMESPACES),
            "labels": lambda: {
                src.choice(LABEL_KEYS): src.choice(LABEL_VALUES) for _ in range(src.integer(0, 2))
            },
            "annotations": lambda: {"note": src.choice(ODD_STRINGS)},
        },
        keep=0.7,
    )


def service_entry_spec(src: Source) -> dict[str, Any]:
    def port() -> dict[str, Any]:
        return _fields(
            src,
            {
                "number": lambda: src.choice(PORTS),
                "protocol": lambda: src.choice(PROTOCOLS),
                "name": lambda: src.choice(("https", "tcp-pg", "http", "")),
                "targetPort": lambda: src.choice(PORTS),
            },
            keep=0.7,
        )

    def endpoint() -> dict[str, Any]:
        return _fields(
            src,
            {
                "address": lambda: src.choice((*ADDRESSES, *HOSTS[:4])),
                "ports": lambda: {src.choice(("https", "tcp-pg", "")): src.choice(PORTS)},
                "labels": lambda: {"app": "x"},
                "network": lambda: src.choice(("", "net-2")),
                "locality": lambda: "us-east1/a",
                "weight": lambda: src.choice((0, 1, 100)),
                "serviceAccount": lambda: "sa",
            },
        )

    return _fields(
        src,
        {
            "hosts": lambda: _list(src, lambda: src.choice(HOSTS)),
            "addresses": lambda: _list(src, lambda: src.choice(ADDRESSES)),
            "ports": lambda: _list(src, port),
            "location": lambda: src.choice(LOCATIONS),
            "resolution": lambda: src.choice(RESOLUTIONS),
            "endpoints": lambda: _list(src, endpoint),
            "workloadSelector": lambda: {"labels": {"app": "x"}},
            "exportTo": lambda: _list(src, lambda: src.choice((".", "*", *NAMESPACES))),
            "subjectAltNames": lambda: _list(src, lambda: "spiffe://x"),
        },
        keep=0.7,
    )


def _destination(src: Source) -> dict[str, Any]:
    return _fields(
        src,
        {
            "host": lambda: src.choice(HOSTS),
            "port": lambda: {"number": src.choice(PORTS)},
            "subset": lambda: src.choice(("v1", "")),
        },
        keep=0.8,
    )


def _routes(src: Source) -> list[Any]:
    return _list(
        src,
        lambda: _fields(
            src,
            {
                "destination": lambda: _destination(src),
                "weight": lambda: src.choice((0, 10, 50, 100, -1)),
                "headers": lambda: {"request": {"set": {"host": src.choice(HOSTS)}}},
            },
            keep=0.7,
        ),
    )


def virtual_service_spec(src: Source) -> dict[str, Any]:
    def match() -> dict[str, Any]:
        return _fields(
            src,
            {
                "uri": lambda: {src.choice(("prefix", "exact", "regex")): "/"},
                "port": lambda: src.choice(PORTS),
                "authority": lambda: {"exact": src.choice(HOSTS)},
                "sniHosts": lambda: _list(src, lambda: src.choice(HOSTS)),
                "gateways": lambda: _list(src, lambda: src.choice(GATEWAYS)),
                "sourceLabels": lambda: {"app": "x"},
                "destinationSubnets": lambda: _list(src, lambda: src.choice(ADDRESSES)),
                "headers": lambda: {":authority": {"exact": src.choice(HOSTS)}},
            },
            keep=0.3,
        )

    def http_route() -> dict[str, Any]:
        return _fields(
            src,
            {
                "match": lambda: _list(src, match),
                "route": lambda: _routes(src),
                "mirror": lambda: _destination(src),
                "mirrors": lambda: _list(src, lambda: {"destination": _destination(src)}),
                "mirrorPercentage": lambda: {"value": src.choice((0, 50.5, 100, 1e9))},
                "rewrite": lambda: _fields(
                    src, {"uri": lambda: "/", "authority": lambda: src.choice(HOSTS)}
                ),
                "redirect": lambda: {"authority": src.choice(HOSTS)},
                "directResponse": lambda: {"status": 503},
                "delegate": lambda: {"name": "child", "namespace": src.choice(NAMESPACES)},
                "timeout": lambda: src.choice(("5s", "bogus")),
                "retries": lambda: {"attempts": 3},
                "fault": lambda: {"abort": {"httpStatus": 500}},
                "headers": lambda: {"request": {"set": {":authority": src.choice(HOSTS)}}},
            },
            keep=0.35,
        )

    def stream_route() -> dict[str, Any]:
        return _fields(src, {"match": lambda: _list(src, match), "route": lambda: _routes(src)})

    return _fields(
        src,
        {
            "hosts": lambda: _list(src, lambda: src.choice(HOSTS)),
            "gateways": lambda: _list(src, lambda: src.choice(GATEWAYS)),
            "http": lambda: _list(src, http_route),
            "tls": lambda: _list(src, stream_route),
            "tcp": lambda: _list(src, stream_route),
            "exportTo": lambda: _list(src, lambda: src.choice((".", "*", *NAMESPACES))),
        },
        keep=0.6,
    )


def istio_object(src: Source) -> dict[str, Any]:
    """A ServiceEntry or VirtualService, mostly well-typed, sometimes not at all."""
    kind = src.choice(("ServiceEntry", "VirtualService"))
    obj: dict[str, Any] = {
        "apiVersion": _maybe(src, lambda: src.choice(API_VERSIONS)),
        "kind": kind if src.chance(0.9) else _maybe(src, lambda: src.choice(KINDS), 0.5),
        "metadata": _maybe(src, lambda: metadata(src)),
        "spec": (service_entry_spec if kind == "ServiceEntry" else virtual_service_spec)(src),
    }
    if src.chance(0.05):
        obj["status"] = {"x": 1}
    return obj


def admission_review(
    obj: Any, *, uid: str, operation: str = "CREATE", old: Any = None, namespace: str = "default"
) -> dict[str, Any]:
    """The envelope the API server sends around `obj`."""
    source = obj if isinstance(obj, dict) else (old if isinstance(old, dict) else {})
    api_version = source.get("apiVersion", "networking.istio.io/v1")
    group, _, version = (
        api_version.rpartition("/") if isinstance(api_version, str) else ("", "", "")
    )
    kind = source.get("kind") if isinstance(source.get("kind"), str) else "ServiceEntry"
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
            "name": "x",
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "fuzz", "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": old,
            "dryRun": False,
        },
    }


def generated_review(src: Source) -> dict[str, Any]:
    """A structure-aware AdmissionReview around a generated object."""
    operation = src.choice(OPERATIONS) if src.chance(0.2) else src.choice(("CREATE", "UPDATE"))
    obj = istio_object(src)
    old = istio_object(src) if operation in ("UPDATE", "DELETE") else None
    if operation == "DELETE":
        obj, old = None, old or obj
    return admission_review(
        obj, uid=_uid(src), operation=operation, old=old, namespace=src.choice(NAMESPACES)
    )


def _uid(src: Source) -> str:
    return f"fuzz-{src.integer(0, 10**9)}"


# --- mutations of real reviews --------------------------------------------------------


def seed_objects() -> list[dict[str, Any]]:
    """Every object in examples/manifests (allowed and denied)."""
    objects: list[dict[str, Any]] = []
    for path in sorted(MANIFESTS.glob("*/*.yaml")):
        objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return objects


SEEDS = seed_objects()


def seed_review(src: Source) -> dict[str, Any]:
    obj = copy.deepcopy(src.choice(SEEDS))
    operation = src.choice(("CREATE", "UPDATE", "DELETE"))
    old = copy.deepcopy(src.choice(SEEDS)) if operation != "CREATE" else None
    if operation == "DELETE":
        obj, old = None, old
    ns = obj["metadata"].get("namespace", "default") if obj else "default"
    return admission_review(obj, uid=_uid(src), operation=operation, old=old, namespace=ns)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a node below the root (dict keys and list indexes)."""
    found: list[tuple[Any, ...]] = []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        found.append((*path, key))
        found.extend(_paths(child, (*path, key)))
    return found


def _at(root: Any, path: tuple[Any, ...]) -> Any:
    node = root
    for key in path:
        node = node[key]
    return node


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    return _at(root, path[:-1])


def _deep(src: Source) -> Any:
    depth = src.integer(2, MAX_TREE_DEPTH)
    value: Any = src.choice(("x", 1, None, {}, []))
    for _ in range(depth):
        value = [value] if src.chance(0.5) else {"a": value}
    return value


def _huge(src: Source, current: Any) -> Any:
    shape = src.integer(0, 3)
    if shape == 0:
        return src.choice(("x", "é", "\ud800", "*.")) * src.integer(1000, MAX_HUGE_STRING)
    if shape == 1:
        return src.choice(HUGE_NUMBERS)
    if shape == 2:
        # many copies of a small value (of a huge one, the body would be hundreds of
        # MiB: refused unread, past what the server discards, so the client is reset)
        small = isinstance(current, (bool, int, float)) or (
            isinstance(current, str) and len(current) < 256
        )
        return [current if small else "api.github.com"] * src.integer(100, MAX_HUGE_LIST)
    return {f"k{i}": i for i in range(src.integer(100, MAX_HUGE_LIST))}


def mutate_tree(src: Source, review: dict[str, Any]) -> dict[str, Any]:
    """One to three structural mutations of `review` (in place; returned)."""
    for _ in range(src.integer(1, 3)):
        paths = _paths(review)
        path = src.choice(paths)
        parent = _parent(review, path)
        key = path[-1]
        operation = src.integer(0, 6)
        if operation == 0:
            parent[key] = any_json(src)
        elif operation == 1:
            del parent[key]
        elif operation == 2:
            value = copy.deepcopy(parent[key])
            if isinstance(parent, list):
                parent.insert(key, value)
            else:
                parent[f"{key}2" if src.chance(0.5) else key] = [value, value]
        elif operation == 3:
            parent[key] = _deep(src)
        elif operation == 4:
            parent[key] = _huge(src, parent[key])
        elif operation == 5:
            # splice in a subtree of another real object
            donor = copy.deepcopy(src.choice(SEEDS))
            parent[key] = _at(donor, src.choice(_paths(donor)))
        else:
            _kind_of_any_type(src, review)
    return review


def _kind_of_any_type(src: Source, review: dict[str, Any]) -> None:
    """object.kind (or request.kind.kind) as a dict or a list: a 500 until the engine fix."""
    request = review.get("request")
    if not isinstance(request, dict):
        return
    weird = src.choice(({"kind": "ServiceEntry"}, ["ServiceEntry"], {}, [], [[]], {"a": []}))
    obj = request.get("object")
    if isinstance(obj, dict) and src.chance(0.8):
        obj["kind"] = weird
    elif isinstance(request.get("kind"), dict):
        request["kind"]["kind"] = weird


def encode(src: Source, review: Any) -> bytes:
    """JSON bytes of `review`, sometimes damaged at the byte level."""
    body = json.dumps(review, ensure_ascii=src.chance(0.5), allow_nan=False).encode(
        "utf-8", "surrogatepass"
    )
    damage = src.integer(0, 9)
    if damage == 0 and body:
        # truncated
        return body[: src.integer(0, len(body) - 1)]
    if damage == 1:
        # invalid UTF-8 inside a string value
        at = body.find(b'"uid": "')
        at = at + 8 if at >= 0 else src.integer(0, len(body))
        return body[:at] + src.choice((b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80")) + body[at:]
    if damage == 2:
        # a duplicate key: the last one wins in Python, the first in some parsers
        return body.replace(b'"kind": ', b'"kind": "Secret", "kind": ', 1)
    if damage == 3 and body:
        at = src.integer(0, len(body) - 1)
        return body[:at] + bytes([body[at] ^ (1 << src.integer(0, 7))]) + body[at + 1 :]
    if damage == 4:
        # nesting deeper than any recursion limit
        depth = src.integer(1000, MAX_BYTES_DEPTH)
        opener, closer = src.choice(((b"[", b"]"), (b'{"a":', b"}")))
        return body.replace(
            b'"dryRun": false', b'"dryRun": ' + opener * depth + b"1" + closer * depth, 1
        )
    return body


def mutated_review(src: Source) -> bytes:
    """A real review, mutated structurally, then encoded (and maybe damaged)."""
    review = seed_review(src)
    if src.chance(0.15):
        _kind_of_any_type(src, review)
    else:
        mutate_tree(src, review)
    return encode(src, review)


def any_input(src: Source) -> bytes:
    """What the scale fuzzer sends: generated or mutated, half and half."""
    if src.chance(0.5):
        return encode(src, generated_review(src))
    return mutated_review(src)


# --- what a correct answer is ---------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One response, as the client saw it."""

    status: int
    content_type: str
    body: bytes


def problems_with(answer: Answer, sent: bytes) -> list[str]:
    """Why `answer` is not a correct answer to `sent` (empty: it is)."""
    if answer.status >= 500:
        return [f"HTTP {answer.status}: {answer.body[:300]!r}"]
    if not answer.content_type.startswith("application/json"):
        return [f"HTTP {answer.status} with Content-Type {answer.content_type!r}"]
    try:
        body = json.loads(answer.body)
    except ValueError as exc:
        return [f"HTTP {answer.status} with a body that is not JSON ({exc})"]
    if answer.status == 200:
        return _review_problems(body, sent)
    if 400 <= answer.status < 500:
        expected = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "code": answer.status,
        }
        if not isinstance(body, dict) or {k: body.get(k) for k in expected} != expected:
            return [f"HTTP {answer.status} whose body is not a metav1.Status: {body!r:.300}"]
        if not isinstance(body.get("message"), str) or not body["message"]:
            return [f"HTTP {answer.status} without a message"]
        return []
    return [f"unexpected HTTP {answer.status}"]


def _review_problems(body: Any, sent: bytes) -> list[str]:
    if not isinstance(body, dict) or body.get("kind") != "AdmissionReview":
        return [f"HTTP 200 whose body is not an AdmissionReview: {body!r:.300}"]
    response = body.get("response")
    if body.get("apiVersion") != "admission.k8s.io/v1" or not isinstance(response, dict):
        return [f"HTTP 200 without a v1 response: {body!r:.300}"]
    if not isinstance(response.get("allowed"), bool):
        return ["response.allowed is not a boolean"]
    try:
        uid = json.loads(sent)["request"]["uid"]
    except (ValueError, KeyError, TypeError):
        return ["HTTP 200 for a body that is not a review"]
    if response.get("uid") != uid:
        return [f"response.uid {response.get('uid')!r} is not the request's {uid!r}"]
    if not response["allowed"]:
        status = response.get("status")
        if not isinstance(status, dict) or status.get("code") != 403 or not status.get("message"):
            return [f"a denial without a 403 status and message: {response!r:.300}"]
    return []


# --- Hypothesis strategies ------------------------------------------------------------


@st.composite
def generated_reviews(draw: st.DrawFn) -> bytes:
    """Structure-aware AdmissionReviews, as JSON bytes."""
    src = DrawSource(draw)
    return encode(src, generated_review(src))


@st.composite
def mutated_reviews(draw: st.DrawFn) -> bytes:
    """Mutated real reviews, as (maybe damaged) JSON bytes."""
    return mutated_review(DrawSource(draw))


def random_inputs(seed: int) -> Callable[[], bytes]:
    """An endless, reproducible supply of `any_input`, from `seed`."""
    src = RandomSource(random.Random(seed))
    return lambda: any_input(src)
