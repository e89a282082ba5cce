"""scripts/shadow_accuracy.py in its quick mode: the figures page of the shadow-geometry step."""

from __future__ import annotations

import re

import pytest

from tests.evaluate.scripts import load_script


@pytest.mark.slow
def test_shadow_accuracy_page_quick(tmp_path):
    mod = load_script("shadow_accuracy")
    doc = tmp_path / "accuracy_shadow.md"
    assert mod.main(["--quick", "--quiet", "--doc", str(doc)]) == 0
    text = doc.read_text()
    for heading in (
        "### All scenes",
        "### Sensitivity: each constant halved and doubled",
        "## The real sample: Wright, ACT",
        "10:30 local solar time",
    ):
        assert heading in text
    # Both presets, each without and with the step, with real figures.
    rows = re.findall(r"^\| (seed|dea) \| (detection only|\+ geometry, margin) \|(.*)$", text, re.M)
    assert len(rows) == 4
    for _, _, rest in rows:
        cells = [c.strip() for c in rest.split("|") if c.strip()]
        shadow_pa = float(cells[2].split()[0])
        assert 10.0 < shadow_pa <= 100.0
    # The step never changes cloud: the cloud columns agree with and without it.
    for preset in ("seed", "dea"):
        pair = [r[2].split("|")[:2] for r in rows if r[0] == preset]  # cloud PA, UA
        assert pair[0] == pair[1]
    # Every constant of ShadowParams appears in the sensitivity table, halved and doubled.
    for name in (
        "min_height",
        "max_height",
        "shadow_drop",
        "min_sun_elevation",
        "min_cloud_pixels",
    ):
        assert len(re.findall(rf"^\| {name} \| (halved|doubled)", text, re.M)) == 4, name
    # The real sample: one row per date with the sun and the fractions.
    assert len(re.findall(r"^\| 20\d\d-\d\d-\d\d \| \d+ / \d+ \|", text, flags=re.M)) == 30
