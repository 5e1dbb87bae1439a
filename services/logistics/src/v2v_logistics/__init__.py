"""vein2vein logistics service: collection slots (only with a free manufacturing slot
downstream), courier shipments with their data logger summary, infusion slots, and
cancellation of any booking."""
