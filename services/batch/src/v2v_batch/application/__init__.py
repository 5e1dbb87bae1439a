"""Batch use cases: one module per use case, each an async function taking a unit of
work, its input and the actor."""
