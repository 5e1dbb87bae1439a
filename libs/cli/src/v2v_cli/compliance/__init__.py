"""Validation as code: a catalog of regulation clauses (docs/compliance/clauses.toml), the
``requirement`` marker that ties a test to the clauses it shows, the pytest plugin that checks
and records those ids (JUnit XML properties), and the traceability matrix docs/compliance.md
generated from both."""
