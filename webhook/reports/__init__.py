"""Audit of the cluster view and PolicyReports: shared by `egress-webhook audit` and the server.

`audit` judges every registry object a ClusterView holds (one loop, used by both front
ends); `policy_report` turns those decisions into wgpolicyk8s.io/v1alpha2 PolicyReports,
one per namespace, bounded in size; `writer` keeps them in the cluster; `lease` elects
the one replica that writes them.
"""
