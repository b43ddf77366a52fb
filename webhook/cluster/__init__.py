"""The cluster view: a watch-backed, indexed cache of the mesh configuration (read-only).

`webhook.cluster.view.ClusterView` answers the engine's `MeshView` lookups from memory;
`webhook.cluster.watch` keeps it current with list+watch through kubernetes_asyncio;
`webhook.cluster.client` builds the client and lists kinds (also for `audit`). The engine
never imports this package: the server and the audit hand it the view.
"""
