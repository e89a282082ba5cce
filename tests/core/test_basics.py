"""The class module, progress helpers and presets: the pieces everything else reads."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tsmask_qgis import classes
from tsmask_qgis.engine import DEA, SEED, get_preset, preset_names
from tsmask_qgis.progress import (
    Cancelled,
    CancelToken,
    JobProgress,
    Report,
    emit,
    plan,
    scaled,
    step,
)


def test_classes_are_the_four_of_the_spec():
    assert [c.value for c in classes.CLASSES] == [0, 1, 2, 3]
    assert classes.NODATA == 0
    assert classes.by_value(3) is classes.SHADOW
    with pytest.raises(ValueError, match="not a tsmask class"):
        classes.by_value(4)
    for c in classes.CLASSES:
        assert re.fullmatch(r"#[0-9a-f]{6}", c.color)
    assert classes.NO_OBSERVATION.rgba[3] == 0  # transparent on the map
    assert classes.CLOUD.rgba == (0xF0, 0xF0, 0xF0, 255)


def test_flag_attrs_follow_cf():
    attrs = classes.flag_attrs()
    assert attrs["flag_values"] == [0, 1, 2, 3]
    assert attrs["flag_meanings"].split() == [c.name for c in classes.CLASSES]


def test_presets_match_algorithm_md():
    assert preset_names() == ("seed", "dea")
    assert get_preset() is DEA  # the default preset
    assert SEED.passes == (1, 1, 1, 2, 2, 3, 1)
    assert (SEED.cloud_spike, SEED.shadow_spike, SEED.cloud_floor, SEED.shadow_ceiling) == (
        0.42,
        0.42,
        0.10,
        0.055,
    )
    assert DEA.passes == (1, 1, 2, 2, 3)
    assert (DEA.cloud_spike, DEA.cloud_floor, DEA.cloud2, DEA.majority_passes) == (
        0.63,
        0.14,
        0.05,
        2,
    )


def test_overrides_and_rejections():
    p = get_preset("DEA", cloud_spike=0.5, passes=[1, 2])
    assert p.cloud_spike == 0.5 and p.passes == (1, 2)
    assert DEA.cloud_spike == 0.63  # the shared preset is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.cloud_spike = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError, match=r"unknown threshold\(s\) cloud2 for preset 'seed'"):
        get_preset("seed", cloud2=0.1)
    with pytest.raises(ValueError, match="unknown preset 'fmask': use one of seed, dea"):
        get_preset("fmask")
    with pytest.raises(ValueError, match="window sizes"):
        get_preset("seed", passes=[0])
    assert get_preset(p) is p


def test_progress_scaling_and_steps():
    seen: list[Report] = []
    sub = scaled(seen.append, 0.5, 1.0)
    assert sub is not None
    sub(Report("write", 0.5, "half"))
    sub(Report("write", None, "unknown"))
    assert [(r.step, r.fraction, r.message) for r in seen] == [
        ("write", 0.75, "half"),
        ("write", None, "unknown"),
    ]
    # a job's plan splits the bar by the steps' weights
    job = JobProgress(seen.append, ("detect", "spatial"))
    detect, spatial = step("detect").weight, step("spatial").weight
    job(Report("spatial", 0.0, "spatial starts"))
    assert seen[-1].overall == pytest.approx(detect / (detect + spatial))
    job.step("spatial")(1.0, "done")
    assert seen[-1].overall == pytest.approx(1.0) and seen[-1].step == "spatial"
    job(Report("search", 0.5, "not in the plan"))
    assert seen[-1].overall is None
    assert plan(catalogue=True) == ("search", "load", "detect", "spatial", "write")
    assert plan(catalogue=False, spatial=False) == ("read", "detect", "write")
    assert (
        str(Report("detect", 0.5, "10 of 20 pixels"))
        == "Detecting cloud and shadow: 10 of 20 pixels"
    )
    assert scaled(None, 0, 1) is None
    emit(None, "detect", 0.1, "nothing happens")


def test_cancel_token_makes_every_report_a_cancel_point():
    token = CancelToken()
    calls: list[str] = []
    cb = token.progress(lambda r: calls.append(r.message))
    cb(Report("detect", 0.1, "one"))
    token.cancel()
    with pytest.raises(Cancelled):
        cb(Report("detect", 0.2, "two"))
    assert calls == ["one"] and token.cancelled


def test_band_names_have_one_table():
    from tsmask_qgis.bands import BANDS, BROAD_NIR, band_name

    assert [band_name(b) for b in BANDS] == list(BANDS)
    assert band_name("NBART_Swir_2") == "swir1" and band_name("swir_2") == "swir2"
    assert band_name("B8A") == "nir" and band_name("B08") is None
    assert all(band_name(n) is None for n in BROAD_NIR)


def test_temporary_names_share_one_prefix(tmp_path):
    import fnmatch

    from tsmask_qgis.tempfiles import TMP_PREFIX, temp_name, temp_patterns

    tmp = temp_name(tmp_path / "cog" / "tsmask_2020-01-01.tif")
    assert tmp.parent == tmp_path / "cog" and tmp.name.startswith(TMP_PREFIX)
    assert tmp.suffix == ".tif" and tmp != temp_name(tmp_path / "cog" / "tsmask_2020-01-01.tif")
    assert any(fnmatch.fnmatch(str(tmp), p) for p in temp_patterns(tmp_path))
