"""vein2vein events."""
