"""The QC domain: product specifications, release panels, deviations, lot release.

Pure: no I/O; the clock and the id generator are passed in by the application.
"""
