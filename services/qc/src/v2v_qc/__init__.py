"""vein2vein qc service: release panels from versioned specifications, results, OOS
deviations, QA release decisions and certificates of analysis."""
