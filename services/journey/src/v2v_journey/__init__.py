"""vein2vein journey: one Temporal workflow per patient, and the Kafka→Temporal bridge."""
