"""vein2vein custody service: chain of identity (CoI, DIN), units, chain of custody."""
