"""vein2vein batch service (its code arrives with the journey issue)."""
