"""Adapters of the logistics service: database (tables, projections), Kafka, HTTP."""
