"""Adapters of the qc service: database (tables, projections), Kafka handlers, HTTP routes."""
