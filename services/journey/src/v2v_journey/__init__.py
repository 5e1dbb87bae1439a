"""vein2vein journey service (its code arrives with the journey issue)."""
