"""WorkloadEntry (networking.istio.io v1alpha3, v1beta1, v1), per istio/api workload_entry.proto.

The same proto message is a ServiceEntry's `endpoints[]` item, so one model serves both.
"""

from __future__ import annotations

from webhook.resources.service_entry import WorkloadEntry

#: WorkloadEntry.spec: address, ports, labels, network, locality, weight, serviceAccount.
WorkloadEntrySpec = WorkloadEntry

#: The prefix of a Unix domain socket address (Istio's model.UnixAddressPrefix).
UNIX_ADDRESS_PREFIX = "unix://"

__all__ = ["UNIX_ADDRESS_PREFIX", "WorkloadEntrySpec"]
