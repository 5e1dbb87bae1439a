"""vein2vein qc service (its code arrives with the journey issue)."""
