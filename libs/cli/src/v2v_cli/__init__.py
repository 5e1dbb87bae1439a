"""vein2vein cli."""
