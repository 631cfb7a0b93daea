"""Plan and apply: the plan is data, apply walks the dependency graph."""
