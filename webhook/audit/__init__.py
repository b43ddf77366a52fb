"""The audit (`egress-webhook audit`): every object in the cluster through the engine."""
