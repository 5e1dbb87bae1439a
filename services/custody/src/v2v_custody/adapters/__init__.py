"""Adapters of the custody service: database (tables, projections), Kafka handlers, HTTP routes."""
