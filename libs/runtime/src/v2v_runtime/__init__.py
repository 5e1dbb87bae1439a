"""vein2vein runtime."""
