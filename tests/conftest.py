"""Shared test configuration: headless Qt, a deterministic hypothesis profile."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # hypothesis is a test dependency; the QGIS-only runs may lack it
    pass
else:
    # Deterministic in CI (no example database, derandomized), broader locally.
    settings.register_profile(
        "ci",
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.register_profile(
        "dev",
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
