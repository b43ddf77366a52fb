#!/bin/sh
# Helm post-renderer: the release goes through only if every object complies with the
# egress policy; otherwise Helm stops before sending anything, with the checker's report.
#
#   Helm 3: helm install app ./chart -n shop --post-renderer ./egress-check.sh \
#             --post-renderer-args --policy=policy.yaml --post-renderer-args --namespace=shop
#   Helm 4: helm plugin install examples/helm-post-renderer
#           helm install app ./chart -n shop --post-renderer egress-check \
#             --post-renderer-args --values=charts-values.yaml
#
# The policy comes from the arguments (--policy FILE or --values CHART_VALUES) or from
# EGRESS_WEBHOOK_POLICY / EGRESS_WEBHOOK_VALUES. Helm 3 does not tell a post-renderer the
# release namespace: pass --namespace (Helm 4 plugins get HELM_NAMESPACE, which is used).
# EGRESS_WEBHOOK names the command when egress-webhook is not on PATH.
set -eu
set -- check --post-render \
  ${EGRESS_WEBHOOK_POLICY:+"--policy=$EGRESS_WEBHOOK_POLICY"} \
  ${EGRESS_WEBHOOK_VALUES:+"--values=$EGRESS_WEBHOOK_VALUES"} \
  "$@"
# Unquoted on purpose: EGRESS_WEBHOOK may be a command with arguments ("python -m webhook").
exec ${EGRESS_WEBHOOK:-egress-webhook} "$@"
