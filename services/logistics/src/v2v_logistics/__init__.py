"""vein2vein logistics service (its code arrives with the journey issue)."""
