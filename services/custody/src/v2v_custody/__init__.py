"""vein2vein custody service (its code arrives with the journey issue)."""
