"""The whole repository's test configuration: the requirement marker plugin, and the
Hypothesis settings for every property-based test, chosen by HYPOTHESIS_PROFILE.

``ci`` (the default, also set by ``v2v test``): at most 50 examples per test, derandomized so
a CI run is reproducible. ``dev``: more examples, random, for a deeper look on a workstation
(``HYPOTHESIS_PROFILE=dev ./v2v test services/logistics``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# The requirement marker, its checks and its JUnit properties (docs/validation.md).
pytest_plugins = ["v2v_cli.compliance.plugin"]

# The service harness is one per test, shared by its examples on purpose (each example uses
# its own chain-of-identity ids); examples talk to a database, so no per-example deadline.
_SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
settings.register_profile(
    "ci", max_examples=50, derandomize=True, deadline=None, suppress_health_check=_SUPPRESSED
)
settings.register_profile("dev", max_examples=500, deadline=None, suppress_health_check=_SUPPRESSED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
