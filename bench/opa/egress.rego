# The egress admission check, in Rego, for comparing OPA's request path with ours.
#
# OPA receives the API server's AdmissionReview as is (POST / with the default decision
# set to /egress/admission/main, kube-mgmt style) and answers with an AdmissionReview.
# The policy is data.egress_policy, indexed at load time the way CompiledPolicy indexes
# it (exact hosts, and wildcards by domain), built by bench/workload.py:opa_data.
#
# What it checks, a comparable subset of webhook/policy/rules:
#   ServiceEntry    every host is external and on the allowlist (exact or *.domain, any
#                   depth) for the namespace; every port number/protocol is allowed.
#   VirtualService  hosts routed at sidecars (gateway "mesh") or at an egress gateway are
#                   on the allowlist; sidecar routes for such hosts go only to the egress
#                   gateway Service (no other destination, no mirror); sidecar routes never
#                   send straight to an external host.
#                   addresses and IP endpoints lie in the CIDRs of the host's entries.
# Not here (so OPA does less work than we do): schema validation, host spelling checks
# (IDN, trailing dot, IP literals), resolution and endpoint ports, exportTo, labels,
# rewrites, delegates, readable messages listing what is allowed.
package egress.admission

policy := data.egress_policy

req := input.request

obj := req.object

handled_kinds := {"ServiceEntry", "VirtualService"}

istio_versions := {"networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"}

namespace := ns if {
	ns := obj.metadata.namespace
	ns != ""
} else := ns if {
	ns := req.namespace
	ns != ""
} else := "default"

evaluated if {
	req.operation in {"CREATE", "UPDATE"}
	obj.kind in handled_kinds
	obj.apiVersion in istio_versions
	not namespace in {ns | some ns in policy.exempt_namespaces}
}

main := {
	"apiVersion": "admission.k8s.io/v1",
	"kind": "AdmissionReview",
	"response": response,
}

response := {"uid": req.uid, "allowed": true} if {
	not evaluated
} else := {"uid": req.uid, "allowed": true} if {
	count(violations) == 0
} else := {
	"uid": req.uid,
	"allowed": false,
	"status": {
		"code": 403,
		"reason": "Forbidden",
		"message": concat("\n", array.concat(
			[sprintf("%s %s/%s violates the egress policy:", [obj.kind, namespace, object.get(obj.metadata, "name", "")])],
			sort([v | some v in violations]),
		)),
	},
}

# --- names -------------------------------------------------------------------------

# A name without a dot is short for <name>.<namespace>.svc.<cluster domain>.
resolve(host) := sprintf("%s.%s.svc.%s", [lower(host), namespace, policy.cluster_domain]) if {
	not contains(host, ".")
	host != "*"
} else := lower(host)

in_cluster(fqdn) if fqdn == policy.cluster_domain

in_cluster(fqdn) if endswith(fqdn, concat("", [".", policy.cluster_domain]))

external(fqdn) if not in_cluster(trim_prefix(fqdn, "*."))

gateway_ref(ref) := "mesh" if {
	ref == "mesh"
} else := sprintf("%s/%s", [namespace, trim_prefix(ref, "./")]) if {
	not contains(ref, "/")
} else := sprintf("%s/%s", [namespace, substring(ref, 2, -1)]) if {
	startswith(ref, "./")
} else := ref

egress_gateway_refs := {r | some r in policy.gateway_refs}

# --- the allowlist -----------------------------------------------------------------

usable(entry) if not entry.namespaces

usable(entry) if namespace in entry.namespaces

# Every entry usable from the namespace whose host contains `host`: the exact entry,
# then the wildcards of each parent domain (a *.domain pattern looks from its domain up).
entries(host) := array.concat(exact, wild) if {
	not startswith(host, "*.")
	exact := [e | some e in object.get(policy.exact, host, []); usable(e)]
	labels := split(host, ".")
	wild := [e |
		some i in numbers.range(1, count(labels) - 1)
		some e in object.get(policy.wildcard, concat(".", array.slice(labels, i, count(labels))), [])
		usable(e)
	]
} else := wild if {
	labels := split(substring(host, 2, -1), ".")
	wild := [e |
		some i in numbers.range(0, count(labels) - 1)
		some e in object.get(policy.wildcard, concat(".", array.slice(labels, i, count(labels))), [])
		usable(e)
	]
}

allowlisted(host) if count(entries(host)) > 0

port_allowed(host, number, protocol) if {
	some e in entries(host)
	some p in e.ports
	p.number == number
	protocol_ok(p, protocol)
}

protocol_ok(p, _) if not p.protocols

protocol_ok(p, protocol) if upper(protocol) in p.protocols

requires_gateway(_) if policy.require_all

requires_gateway(host) if {
	some pattern in policy.require_patterns
	glob.match(pattern, ["."], host)
}

# --- ServiceEntry ------------------------------------------------------------------

violations contains msg if {
	obj.kind == "ServiceEntry"
	count(object.get(obj.spec, "hosts", [])) == 0
	msg := "spec.hosts: a ServiceEntry must name at least one host"
}

violations contains msg if {
	obj.kind == "ServiceEntry"
	some i, raw in obj.spec.hosts
	host := lower(raw)
	not external(host)
	msg := sprintf("spec.hosts[%d]: host %q is in the cluster domain", [i, raw])
}

violations contains msg if {
	obj.kind == "ServiceEntry"
	some i, raw in obj.spec.hosts
	host := lower(raw)
	external(host)
	not allowlisted(host)
	msg := sprintf("spec.hosts[%d]: host %q is not on the egress allowlist for namespace %q", [i, raw, namespace])
}

violations contains msg if {
	obj.kind == "ServiceEntry"
	some raw in obj.spec.hosts
	host := lower(raw)
	allowlisted(host)
	some j, port in object.get(obj.spec, "ports", [])
	not port_allowed(host, port.number, object.get(port, "protocol", ""))
	msg := sprintf("spec.ports[%d]: port %d/%s is not allowed for host %q", [j, port.number, object.get(port, "protocol", ""), raw])
}

ip_allowed(host, address) if {
	some e in entries(host)
	some cidr in object.get(e, "cidrs", [])
	net.cidr_contains(cidr, address)
}

is_ip(address) if regex.match(`^[0-9.]+(/[0-9]+)?$|:`, address)

violations contains msg if {
	obj.kind == "ServiceEntry"
	some raw in obj.spec.hosts
	host := lower(raw)
	allowlisted(host)
	some k, address in object.get(obj.spec, "addresses", [])
	not ip_allowed(host, address)
	msg := sprintf("spec.addresses[%d]: %s is outside the CIDRs allowed for host %q", [k, address, raw])
}

violations contains msg if {
	obj.kind == "ServiceEntry"
	some raw in obj.spec.hosts
	host := lower(raw)
	allowlisted(host)
	some k, endpoint in object.get(obj.spec, "endpoints", [])
	is_ip(endpoint.address)
	not ip_allowed(host, endpoint.address)
	msg := sprintf("spec.endpoints[%d].address: %s is outside the CIDRs allowed for host %q", [k, endpoint.address, raw])
}

# --- VirtualService: legs (one per match of each route) ----------------------------

vs_hosts := [resolve(h) | some h in object.get(obj.spec, "hosts", [])]

top_gateways := {gateway_ref(g) | some g in obj.spec.gateways} if {
	count(object.get(obj.spec, "gateways", [])) > 0
} else := {"mesh"}

match_gateways(match) := {gateway_ref(g) | some g in match.gateways} if {
	count(object.get(match, "gateways", [])) > 0
} else := top_gateways

http_targets(route) := array.concat(
	[{"field": "route", "host": resolve(d.destination.host), "mirror": false} | some d in object.get(route, "route", [])],
	array.concat(
		[{"field": "mirror", "host": resolve(route.mirror.host), "mirror": true} | route.mirror],
		[{"field": "mirrors", "host": resolve(m.destination.host), "mirror": true} | some m in object.get(route, "mirrors", [])],
	),
)

l4_targets(route) := [{"field": "route", "host": resolve(d.destination.host), "mirror": false} |
	some d in object.get(route, "route", [])
]

legs contains leg if {
	some i, route in object.get(obj.spec, "http", [])
	matches := object.get(route, "match", [])
	count(matches) == 0
	leg := {"field": sprintf("spec.http[%d]", [i]), "gateways": top_gateways, "hosts": vs_hosts, "targets": http_targets(route)}
}

legs contains leg if {
	some i, route in object.get(obj.spec, "http", [])
	some j, match in object.get(route, "match", [])
	leg := {"field": sprintf("spec.http[%d].match[%d]", [i, j]), "gateways": match_gateways(match), "hosts": vs_hosts, "targets": http_targets(route)}
}

legs contains leg if {
	some protocol in ["tls", "tcp"]
	some i, route in object.get(obj.spec, protocol, [])
	count(object.get(route, "match", [])) == 0
	leg := {"field": sprintf("spec.%s[%d]", [protocol, i]), "gateways": top_gateways, "hosts": vs_hosts, "targets": l4_targets(route)}
}

legs contains leg if {
	some protocol in ["tls", "tcp"]
	some i, route in object.get(obj.spec, protocol, [])
	some j, match in object.get(route, "match", [])
	sni := [resolve(h) | some h in object.get(match, "sniHosts", [])]
	leg := {"field": sprintf("spec.%s[%d].match[%d]", [protocol, i, j]), "gateways": match_gateways(match), "hosts": sni_or_hosts(sni), "targets": l4_targets(route)}
}

# A TLS/TCP match's sniHosts narrow the hosts the leg carries.
sni_or_hosts(sni) := sni if {
	count(sni) > 0
} else := vs_hosts

at_sidecars(leg) if "mesh" in leg.gateways

at_egress_gateway(leg) if count(leg.gateways & egress_gateway_refs) > 0

guarded(leg) := [h | some h in leg.hosts; external(h); requires_gateway(h)]

# --- VirtualService: rules ---------------------------------------------------------

violations contains msg if {
	obj.kind == "VirtualService"
	some leg in legs
	at_sidecars(leg)
	some host in leg.hosts
	external(host)
	not allowlisted(host)
	msg := sprintf("spec.hosts: host %q is not on the egress allowlist for namespace %q", [host, namespace])
}

violations contains msg if {
	obj.kind == "VirtualService"
	some leg in legs
	not at_sidecars(leg)
	at_egress_gateway(leg)
	some host in leg.hosts
	external(host)
	not allowlisted(host)
	msg := sprintf("spec.hosts: host %q is not on the egress allowlist for namespace %q", [host, namespace])
}

violations contains msg if {
	obj.kind == "VirtualService"
	some leg in legs
	at_sidecars(leg)
	count(guarded(leg)) > 0
	some target in leg.targets
	target.mirror
	msg := sprintf("%s.%s: mirrors mesh traffic for external hosts to %q", [leg.field, target.field, target.host])
}

violations contains msg if {
	obj.kind == "VirtualService"
	some leg in legs
	at_sidecars(leg)
	count(guarded(leg)) > 0
	some target in leg.targets
	not target.mirror
	target.host != policy.gateway_service
	msg := sprintf("%s.%s: sends mesh traffic for external hosts to %q, around the egress gateway %q", [leg.field, target.field, target.host, policy.gateway_service])
}

violations contains msg if {
	obj.kind == "VirtualService"
	some leg in legs
	at_sidecars(leg)
	count(guarded(leg)) == 0
	some target in leg.targets
	external(target.host)
	requires_gateway(target.host)
	msg := sprintf("%s.%s: sends mesh traffic directly to external host %q", [leg.field, target.field, target.host])
}
