"""vein2vein batch (manufacturing) service: batches, process steps, lots, retained
apheresis material and re-manufacture."""
