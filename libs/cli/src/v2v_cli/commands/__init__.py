"""Sub-commands of ``v2v``, one module per group."""
