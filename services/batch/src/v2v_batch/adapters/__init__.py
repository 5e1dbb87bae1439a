"""Adapters of the batch service: database (tables, projections), Kafka handlers, HTTP routes."""
