"""The pure egress policy engine: policy model, loader, host matching, rules and evaluate()."""
