"""One module per rule. Each exposes RULE (its name) and check(subject) -> Iterator[Violation]."""
