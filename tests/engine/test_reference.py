"""Hand-worked cases for the oracle (tsmask_qgis.engine.reference).

Every expected label here was worked out from algorithm.md by hand (the
reasoning is in the comments), not by running the code. Spectra are chosen
so that the numbers stay far from every threshold unless a test says
otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from tsmask_qgis.engine import get_preset
from tsmask_qgis.engine.reference import (
    reference_classify,
    reference_dea_pass,
    reference_detect,
    reference_indices,
    reference_majority,
    reference_pixel,
    reference_seed_buffer,
    reference_seed_filter,
    reference_spatial,
    to_reflectance,
)

F = np.float32
NAN = float("nan")

# blue, green, red, nir, swir1, swir2 (reflectance 0..1)
SPECTRA: dict[str, tuple[float, ...]] = {
    # vegetated land, sa = 0.72/6 = 0.12, mndwi = -0.54, wbi = +0.25 (not thin cloud)
    "L": (0.04, 0.06, 0.05, 0.25, 0.20, 0.12),
    # land x1.25 (sa 0.15) and x1.5 (sa 0.18)
    "L125": (0.05, 0.075, 0.0625, 0.3125, 0.25, 0.15),
    "L150": (0.06, 0.09, 0.075, 0.375, 0.30, 0.18),
    # cloud, below the brightness threshold: sa = 1.72/6 = 0.287, mndwi = +0.034
    "C": (0.30, 0.30, 0.30, 0.32, 0.28, 0.22),
    # very bright cloud: sa = 2.85/6 = 0.475 > 0.45, mndwi = +0.05
    "B": (0.50, 0.50, 0.50, 0.50, 0.45, 0.40),
    # bright bare ground: sa = 3.3/6 = 0.55 > 0.45, mndwi = (0.35-0.9)/1.25 = -0.44 < -0.38
    "G": (0.30, 0.35, 0.45, 0.55, 0.90, 0.75),
    # cloud shadow on land (land x0.25): sa = 0.03, mndwi = -0.54, msavi = 0.097
    "S": (0.01, 0.015, 0.0125, 0.0625, 0.05, 0.03),
    # dark water: sa = 0.03, mndwi = 0 (> -0.05), msavi = 0.137 (>= 0.06: water rule off)
    "W1": (0.01, 0.03, 0.01, 0.08, 0.03, 0.02),
    # water: sa = 0.0225, mndwi = -0.111 (not > -0.05), msavi = -0.019 (< 0.06)
    "W2": (0.02, 0.02, 0.03, 0.02, 0.025, 0.02),
    # dark water-like date that also satisfies the thin-cloud test:
    # sa = 0.0342, mndwi = -0.176 (in (-0.2, -0.1)), msavi = -0.019, wbi = -0.4,
    # rgm = 0.08, grbm = -0.125
    "WT": (0.05, 0.035, 0.03, 0.02, 0.05, 0.02),
    # thin cloud: sa = 0.1117, wbi = -0.2, rgm = 0.18, mndwi = -0.25, grbm = 0
    "TC": (0.10, 0.09, 0.08, 0.15, 0.15, 0.10),
    # TC with hazier blue (0.15 = 1.5 x TC's): sa = 0.12 (x1.07 of TC: no spike),
    # wbi = -0.47, rgm = 0.23, mndwi = -0.25, grbm = -0.22: passes the spectral rule
    "TH": (0.15, 0.09, 0.08, 0.15, 0.15, 0.10),
    # zero reflectance (observed: no band is nodata): sa = 0, mndwi = 0/0 = NaN
    "Z": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    # one band missing
    "N": (0.04, 0.06, NAN, 0.25, 0.20, 0.12),
}


def series(names: str | list[str]) -> np.ndarray:
    """A (6, T) float32 series from spectrum names separated by spaces."""
    if isinstance(names, str):
        names = names.split()
    return np.array([SPECTRA[n] for n in names], dtype=np.float32).T.copy()


def flat(values: list[float]) -> np.ndarray:
    """A (6, T) float32 series with all six bands equal to the given values."""
    return np.tile(np.asarray(values, dtype=np.float32), (6, 1))


def labels(names: str, preset: object = "seed", **kw: object) -> list[int]:
    return reference_pixel(series(names), preset, **kw).tolist()  # type: ignore[arg-type]


# --------------------------------------------------------------------------- spectra sanity


def test_spectra_have_the_indices_the_comments_claim() -> None:
    def ix(name: str) -> dict[str, float]:
        return {k: float(v) for k, v in reference_indices(*map(F, SPECTRA[name])).items()}

    assert ix("L")["sa"] == pytest.approx(0.12, abs=1e-6)
    assert ix("C")["sa"] == pytest.approx(0.28667, abs=1e-4)
    assert ix("S")["sa"] == pytest.approx(0.03, abs=1e-6)
    assert ix("S")["msavi"] == pytest.approx(0.0973, abs=1e-3)
    assert ix("W1")["mndwi"] == pytest.approx(0.0, abs=1e-6)
    assert ix("W1")["msavi"] == pytest.approx(0.1368, abs=1e-3)
    assert ix("W2")["msavi"] < 0.06 and -0.2 < ix("W2")["mndwi"] < -0.05
    wt = ix("WT")
    assert wt["sa"] < 0.055 and -0.2 < wt["mndwi"] < -0.1 and wt["msavi"] < 0.06
    assert wt["wbi"] < -0.02 and 0.06 < wt["rgm"] < 0.29 and wt["grbm"] < 0.2
    assert ix("G")["sa"] > 0.45 and ix("G")["mndwi"] < -0.38
    assert np.isnan(ix("Z")["mndwi"]) and ix("Z")["sa"] == 0


def test_sa_is_a_left_to_right_float32_sum_divided_by_six() -> None:
    vals = [F(v) for v in (0.1234, 0.0567, 0.8901, 0.3333, 0.7777, 0.0001)]
    acc = vals[0]
    for v in vals[1:]:
        acc = F(acc + v)
    assert reference_indices(*vals)["sa"] == F(acc / F(6))
    assert isinstance(reference_indices(*vals)["sa"], np.float32)


# --------------------------------------------------------------------------- seed temporal


def test_seed_single_bright_date_in_flat_series_becomes_cloud() -> None:
    # T(1): the C window (0.287) is visited first; neighbours L, L -> mid 0.12;
    # (0.287-0.12)/0.12 = 1.39 > 0.42 and 0.287 > 0.10 -> cloud. No post rule applies.
    assert labels("L L L L C L L L L") == [1, 1, 1, 1, 2, 1, 1, 1, 1]


def test_seed_dark_dip_becomes_shadow() -> None:
    # mid 0.12 > m2 0.03, (0.12-0.03)/0.03 = 3 > 0.42, 0.03 < 0.055 -> shadow;
    # S is neither dark water (mndwi -0.54) nor water (msavi 0.097).
    assert labels("L L L L S L L L L") == [1, 1, 1, 1, 3, 1, 1, 1, 1]


def test_seed_brightness_threshold_gives_cloud_without_a_spike() -> None:
    # every date above 0.45: all cloud in step 2, no clear dates for the spike test
    assert labels("B B B") == [2, 2, 2]


def test_seed_dark_water_rule() -> None:
    # W1 dips to 0.03 -> shadow in T(1); post rule 1: mndwi 0 > -0.05 and sa 0.03 < 0.05 -> clear
    assert labels("L L L W1 L L L") == [1] * 7
    # the rule is what clears it: with thd lowered it stays shadow (the water rule is off: msavi 0.137)
    assert labels("L L L W1 L L L", thd=0.01) == [1, 1, 1, 3, 1, 1, 1]


def test_seed_water_rule() -> None:
    # W2 dips -> shadow; not dark water (mndwi -0.11); msavi < 0.06 and mndwi > -0.2 -> clear
    assert labels("L L L W2 L L L") == [1] * 7
    assert labels("L L L W2 L L L", avi=-0.5) == [1, 1, 1, 3, 1, 1, 1]


def test_seed_bright_bare_ground_rule() -> None:
    # G is cloud by brightness (0.55 > 0.45), then mndwi -0.44 < -0.38 -> clear
    assert labels("L L G L L") == [1] * 5
    assert labels("L L G L L", land_cloud=-0.5) == [1, 1, 2, 1, 1]


def test_seed_thin_cloud_rule() -> None:
    # a flat series: no spikes; every date passes the thin-cloud test -> cloud
    assert labels("TC TC TC TC") == [2, 2, 2, 2]
    # dea has no thin-cloud rule
    assert labels("TC TC TC TC", "dea") == [1, 1, 1, 1]


def test_seed_thin_cloud_modes() -> None:
    # spectral (default): every date passes the spectral test -> cloud
    assert labels("TC TC TH TC TC") == [2] * 5
    assert labels("TC TC TH TC TC", thin_cloud="off") == [1] * 5
    # temporal: TH's two nearest clear dates are TC (left) and TC (right), mid blue
    # 0.10; (0.15 - 0.10) / 0.10 = 0.5 > 0.42 -> cloud. Date 1's neighbours are TC
    # (0.10) and TH (0.15, clear after the spike tests): mid 0.125 > 0.10 -> clear.
    assert labels("TC TC TH TC TC", thin_cloud="temporal") == [1, 1, 2, 1, 1]
    # a raised cloud_spike needs more haze: 0.5 is not > 0.6
    assert labels("TC TC TH TC TC", thin_cloud="temporal", cloud_spike=0.6) == [1] * 5
    # fewer than two clear dates: mid = 0, no temporal evidence -> clear
    assert labels("TH TC", thin_cloud="temporal") == [1, 1]
    assert labels("TH TC") == [2, 2]
    # a cloud between is not a neighbour: B (bright cloud) is skipped, TH's
    # neighbours are TC (date 0) and TC (date 3) -> cloud
    assert labels("TC B TH TC TC", thin_cloud="temporal") == [1, 2, 2, 1, 1]
    # one side runs off: the two nearest are both after (dates 1 and 2)
    assert labels("TH TC TC", thin_cloud="temporal") == [2, 1, 1]
    with pytest.raises(ValueError, match="thin_cloud must be one of spectral, temporal, off"):
        get_preset("seed", thin_cloud="haze")
    with pytest.raises(ValueError, match="unknown threshold"):
        get_preset("dea", thin_cloud="temporal")


def test_seed_shadow_cleared_by_a_post_rule_never_becomes_thin_cloud() -> None:
    # WT dips to 0.034 -> shadow. Post rules test the label from before the post
    # rules: the water rule (3 -> 1) fires; the thin-cloud rule needs label 1 and
    # sees 3, so the date ends clear, not cloud.
    assert labels("L L L WT L L L") == [1] * 7
    # ... while the same spectrum as a clear date is thin cloud
    assert labels("WT WT WT") == [2, 2, 2]


def test_seed_no_observation_dates_stay_zero_and_are_not_positions() -> None:
    # N has a NaN band: label 0. The positions among clear dates skip it, so C is
    # still a spike between the two L neighbours.
    assert labels("L N L C N L N L") == [1, 0, 1, 2, 0, 1, 0, 1]
    # inf is nodata too
    s = series("L L C L L")
    s[4, 1] = np.inf
    assert reference_pixel(s).tolist() == [1, 0, 2, 1, 1]


def test_declared_integer_nodata_stays_zero_even_when_bright() -> None:
    # deliberate difference from the notebook: a nodata date never becomes cloud
    dn = np.rint(series("L L L L L") * 10000).astype(np.int16)
    dn[:, 2] = 30000  # would give sa = 3.0 > 0.45 if it were data
    assert reference_pixel(dn, nodata=30000).tolist() == [1, 1, 0, 1, 1]
    # undeclared, 30000 is data: sa 3.0 -> bright cloud
    assert reference_pixel(dn).tolist() == [1, 1, 2, 1, 1]
    # one band equal to the nodata value is enough
    dn2 = np.rint(series("L L L L L") * 10000).astype(np.int16)
    dn2[5, 3] = -999
    assert reference_pixel(dn2, "dea", nodata=-999).tolist() == [1, 1, 1, 0, 1]


def test_integer_input_is_float32_dn_over_10000() -> None:
    rng = np.random.default_rng(5)
    dn = rng.integers(0, 5000, size=(6, 12)).astype(np.int16)
    dn[:, 4] = (6000, 6000, 6000, 6000, 6000, 6000)
    as_float = dn.astype(np.float32) / F(10000)
    for preset in ("seed", "dea"):
        assert (reference_pixel(dn, preset) == reference_pixel(as_float, preset)).all()
    refl, obs = to_reflectance(dn[:, None, :], scale=10000)
    assert refl.dtype == np.float32 and obs.all()
    assert (refl[:, 0, :] == as_float).all()


def test_seed_series_too_short_for_a_pass_is_unchanged() -> None:
    # T(1) needs n >= 3 clear dates
    assert labels("L C L") == [1, 2, 1]
    assert labels("L C") == [1, 1]
    assert labels("L C N") == [1, 1, 0]
    # T(2) needs n >= 6: two bright dates between L's
    assert labels("L L C C L L", passes=(2,)) == [1, 1, 2, 2, 1, 1]
    assert labels("L C C L L", passes=(2,)) == [1] * 5


def test_seed_zero_reflectance_window_becomes_shadow() -> None:
    # m2 = 0: (mid - 0)/0 = +inf > 0.42 and 0 < 0.055 -> shadow (as the notebook's code).
    # Post rules: mndwi is NaN, every comparison false -> stays shadow.
    assert labels("L L L Z L L L") == [1, 1, 1, 3, 1, 1, 1]


def test_seed_neighbours_must_be_clear_and_not_dark() -> None:
    # L125 (0.15) sits between two dark shadow dates S (0.03, mndwi < 0: not dark_ok).
    # T(1) visits L125 first: the walk skips S and takes L, L -> mid 0.12,
    # (0.15-0.12)/0.12 = 0.25 < 0.42: stays clear. (Had S counted, mid would be
    # 0.03 and L125 cloud.) Then each S: neighbours L and L125 -> mid 0.135 -> shadow.
    assert labels("L S L125 S L") == [1, 3, 1, 3, 1]


def test_seed_ties_visit_larger_k_first_and_skip_tests_only_the_first_position() -> None:
    # sa values are dyadic so every sum is exact: L = P = S = 0.125, Q = R = 0.375.
    # Single pass T(3) over positions 0..9: L L L P Q R S L L L.
    # Means: m3 = (P+Q+R)/3 = m4 = (Q+R+S)/3 = 0.2917 (a tie), m2 = m5 = 0.2083,
    # the rest 0.125. Larger k first: window 4 -> neighbours P,L,L,L,L,L ->
    # mid 0.125 -> cloud at 4,5,6 (changed). Window 3: changed[3] is false, so it
    # is tested with its pass-start mean; neighbours L,L,L left and L,L,L right
    # (S is cloud now) -> cloud at 3,4,5. Window 5 is skipped; window 2 finds only
    # 5 neighbours (2 left, 3 right) -> mid 0 -> nothing; the others likewise.
    s = flat([0.125, 0.125, 0.125, 0.125, 0.375, 0.375, 0.125, 0.125, 0.125, 0.125])
    assert reference_pixel(s, "seed", passes=(3,)).tolist() == [1, 1, 1, 2, 2, 2, 2, 1, 1, 1]
    # (smaller k first would give 1 1 2 2 2 2 1 1 1 1.)


def test_seed_overrides_are_read_from_the_preset() -> None:
    assert labels("L L L L C L L L L", cloud_spike=2.0) == [1] * 9
    assert labels("L L L L C L L L L", cloud_floor=0.3) == [1] * 9
    assert labels("L L L L S L L L L", shadow_ceiling=0.02) == [1] * 9
    # B (0.475) is bright cloud by default; with the threshold at 0.5 it is clear
    # (flat series: no spike; wbi 0: not thin cloud)
    assert labels("B B B") == [2, 2, 2]
    assert labels("B B B", brightness=0.5) == [1, 1, 1]
    # the last date: the right side is finished at once, the left one supplies both
    # neighbours (L, L) -> cloud; passes=() is rejected by get_preset, (1,) suffices
    assert labels("L L C", passes=(1,)) == [1, 1, 2]
    preset = get_preset("seed", cloud_spike=2.0)
    assert reference_pixel(series("L L L L C L L L L"), preset).tolist() == [1] * 9


def test_all_nodata_and_empty_series() -> None:
    s = series("N N N N")
    for preset in ("seed", "dea"):
        assert reference_pixel(s, preset).tolist() == [0, 0, 0, 0]
        assert reference_pixel(np.zeros((6, 0), np.float32), preset).shape == (0,)
        assert reference_detect(np.zeros((6, 0, 2, 3), np.float32), preset).shape == (0, 2, 3)


# --------------------------------------------------------------------------- dea temporal


def test_dea_single_bright_date_and_dark_dip() -> None:
    # cloud: m1 = m3 = 0.12, (0.287-0.12)/0.12 = 1.39 > 0.63, 0.287 > 0.14
    assert labels("L L L L C L L L L", "dea") == [1, 1, 1, 1, 2, 1, 1, 1, 1]
    # shadow: (0.12-0.03)/0.03 = 3 > 0.63, 0.03 < 0.055
    assert labels("L L L L S L L L L", "dea") == [1, 1, 1, 1, 3, 1, 1, 1, 1]
    # zero date: m2 = 0 is not > mid; (0.12-0)/0 = +inf -> shadow; NaN mndwi keeps it
    assert labels("L L L Z L L L", "dea") == [1, 1, 1, 3, 1, 1, 1]
    # no-observation dates stay 0 and the walks skip them
    assert labels("L N L C N L N L", "dea") == [1, 0, 1, 2, 0, 1, 0, 1]


def test_dea_post_rules() -> None:
    # dark water, water and bare ground as in seed
    assert labels("L L L W1 L L L", "dea") == [1] * 7
    assert labels("L L L W1 L L L", "dea", thd=0.01) == [1, 1, 1, 3, 1, 1, 1]
    assert labels("L L L W2 L L L", "dea") == [1] * 7
    assert labels("L L G L L", "dea") == [1] * 5
    assert labels("L L G L L", "dea", land_cloud=-0.5) == [1, 1, 2, 1, 1]
    # cloud2 (2 and sa < 0.05 -> 1) needs a dark cloud: flat bands 0.01 with a 0.04
    # spike, one R(1) pass, dark_sa lowered to 0 so the 0.01 dates are good
    # neighbours, cloud floor lowered to 0: (0.04-0.01)/0.01 = 3 > 0.63 -> cloud;
    # then sa 0.04 < 0.05 -> clear. With cloud2 at 0 the cloud stays.
    s = flat([0.01, 0.01, 0.01, 0.04, 0.01, 0.01, 0.01])
    kw: dict[str, object] = {"cloud_floor": 0.0, "dark_sa": 0.0, "passes": (1,)}
    assert reference_pixel(s, "dea", **kw).tolist() == [1] * 7
    assert reference_pixel(s, "dea", cloud2=0.0, **kw).tolist() == [1, 1, 1, 2, 1, 1, 1]


def test_dea_right_fallback_walk_starts_floor_3n_over_2_past_the_window() -> None:
    # R(1) on X A L L L L with X = C (0.287), A = L150 (0.18), L = 0.12.
    # Window [0]: no dates to the left, so m1 walks from b+1+floor(3/2) = 2 -> 0.12;
    # m3 walks from 1 -> 0.18. mid = 0.15, (0.287-0.15)/0.15 = 0.91 > 0.63 -> cloud.
    # (Walking m1 from date 1 would give mid 0.18 and ratio 0.59: no cloud.)
    # A: m1 falls back to date 3 (0.12), m3 = 0.12 -> (0.18-0.12)/0.12 = 0.5: stays.
    assert labels("C L150 L L L L", "dea", passes=(1,)) == [2, 1, 1, 1, 1, 1]


def test_dea_single_date_series() -> None:
    # one date: m1 = m3 = 0, mid = 0; m2 > 0 -> ratio +inf: cloud if m2 > 0.14
    assert labels("C", "dea") == [2]
    assert labels("L", "dea") == [1]
    # m2 = 0.03 > mid = 0 fails the cloud floor; the shadow test is not reached
    assert labels("S", "dea") == [1]


def test_dea_otherwise_is_the_else_of_m2_greater_than_mid() -> None:
    # Negative reflectance. n: sa = -0.02, mndwi = 3 > 0 (good neighbour);
    # w: sa = -0.01, mndwi = -0.6 (not good), msavi irrelevant.
    # For w: m1 = m3 = -0.02 = mid, m2 = -0.01 > mid. The cloud test fails
    # ((m2-mid)/mid = -0.5). Reading "Otherwise" as the else of m2 > mid, no
    # shadow test: w stays clear. (As the else of the cloud test it would be
    # (mid-m2)/m2 = 1 > 0.63 and m2 < 0.055: shadow, which the post rules keep.)
    n = (-0.03, 0.02, -0.03, -0.03, -0.01, -0.04)
    w = (-0.03, 0.01, -0.03, -0.02, 0.04, -0.03)
    s = np.array([n, n, w, n, n], dtype=np.float32).T.copy()
    ix = reference_indices(*map(F, w))
    assert ix["sa"] == pytest.approx(-0.01, abs=1e-6) and ix["mndwi"] < -0.2
    assert reference_pixel(s, "dea", passes=(1,)).tolist() == [1, 1, 1, 1, 1]


def _dea_key(values: list[np.float32]) -> np.float32:
    s = F(0)
    for v in values:
        s = F(s + v)
    n = len(values)
    return F(np.float64(F(s / F(n))) / np.float64(n))


def test_dea_double_division_tie_keeps_the_stable_order() -> None:
    # Series L L L P Q R S L L L, single pass R(3), all bands equal per date:
    # L = 0.12, Q = R = 0.3, S = 0.12 and P a few ulps above S, chosen so that the
    # windows A = (P, Q, R) and B = (Q, R, S) have different means s/3 (A's is
    # larger) but the same key float32(float64(float32(s/3))/3).
    # Stable ascending order keeps A before B, so B (the later one) is visited
    # first: m2 = 0.24, m1 = mean(P, L, L) ~ 0.12, m3 = mean(L, L, L) = 0.12 ->
    # (0.24-0.12)/0.12 = 1 > 0.63 and 0.24 > 0.14 -> Q, R, S cloud. Then A has only
    # P still clear: m2 = P ~ 0.12, not a spike. Windows with lower keys change
    # nothing (their clear dates average ~0.12). Result: P clear, Q R S cloud.
    # With exact means, A would go first: P, Q, R cloud and S clear.
    L = F(0.12)

    def sa_of(v: np.float32) -> np.float32:
        return reference_indices(v, v, v, v, v, v)["sa"]

    q = F(0.3)
    found = None
    s_val = L
    # s/3 moves by more than one ulp per ulp of s here, so nudge both S and P
    for _ in range(100):
        s_val = np.nextafter(s_val, F(1))
        b_vals = [sa_of(q), sa_of(q), sa_of(s_val)]
        p_val = s_val
        for _ in range(8):
            p_val = np.nextafter(p_val, F(1))
            a_vals = [sa_of(p_val), sa_of(q), sa_of(q)]
            mean_a = F(F(F(F(0) + a_vals[0]) + a_vals[1]) + a_vals[2]) / F(3)
            mean_b = F(F(F(F(0) + b_vals[0]) + b_vals[1]) + b_vals[2]) / F(3)
            if mean_a > mean_b and _dea_key(a_vals) == _dea_key(b_vals):
                found = p_val
                break
        if found is not None:
            break
    assert found is not None, "no tie found near 0.12 (search range too small)"
    s = flat([L, L, L, found, q, q, s_val, L, L, L])
    assert reference_pixel(s, "dea", passes=(3,)).tolist() == [1, 1, 1, 1, 2, 2, 2, 1, 1, 1]


def test_dea_pass_all_n_dates_of_a_window_change() -> None:
    # One R(2) pass on a series where date 4 is already shadow. Windows (first two
    # clear dates at or after t): (0,1) (1,2) (2,3) (3,5) (5,6) (5,6) (6,7).
    # (2,3) and (3,5) tie on key 0.21; the stable order visits (3,5) first:
    sa = [F(0.12)] * 3 + [F(0.3), F(0.3)] + [F(0.12)] * 3
    mndwi = [F(-0.5)] * 8
    lab = [1, 1, 1, 1, 3, 1, 1, 1]
    # m2 = (0.3 + 0.12)/2 = 0.21; m1 = mean(dates 2, 1) = 0.12; m3 = mean(dates 6, 7)
    # mid 0.12 -> (0.21-0.12)/0.12 = 0.75 > 0.63, 0.21 > 0.14 -> dates 3 and 5 -> 2
    # (date 4 is not part of the window). (2,3) then has m2 = 0.12 = mid: nothing;
    # every other window averages 0.12 against neighbours of 0.12: nothing.
    reference_dea_pass(lab, sa, mndwi, 2, get_preset("dea"))  # type: ignore[arg-type]
    assert lab == [1, 1, 1, 2, 3, 2, 1, 1]


# --------------------------------------------------------------------------- seed filter


def test_seed_filter_erases_a_one_pixel_line_by_cascade() -> None:
    img = np.ones((5, 24), np.uint8)
    img[2, 2:22] = 2  # 20 cloud pixels in one row
    # In place, the first pixel has 2 cloud pixels in its block -> clear; the next
    # then also sees only 2, and so on: the whole line is erased.
    out = reference_seed_filter(img)
    assert (out == 1).all()
    # vertical too
    img = np.ones((24, 5), np.uint8)
    img[2:22, 2] = 3
    assert (reference_seed_filter(img) == 1).all()


def test_seed_filter_keeps_blocks_and_border() -> None:
    img = np.ones((6, 6), np.uint8)
    img[2:4, 2:4] = 2  # a 2x2 block: each pixel has 4 in its block
    img[0, 0] = 3  # border: never a centre
    img[5, 3] = 2
    out = reference_seed_filter(img)
    assert (out == img).all()
    # a diagonal pair is erased; a pixel of a trio in an L survives only while
    # the scan has not erased its companions
    img = np.ones((5, 5), np.uint8)
    img[1, 1] = img[2, 2] = 2
    assert (reference_seed_filter(img) == 1).all()
    # no-observation pixels are not counted and never change
    img = np.zeros((3, 3), np.uint8)
    img[1, 1] = 2
    out = reference_seed_filter(img)
    assert out[1, 1] == 1 and (out[[0, 2], :] == 0).all()
    # three cloud pixels in a column: the top one (scanned first) has 2 -> clear,
    # then the middle has 2 -> clear, then the bottom one has 1 -> clear
    img = np.ones((5, 3), np.uint8)
    img[1:4, 1] = 2
    assert (reference_seed_filter(img) == 1).all()
    # the same three with a fourth beside the middle: top sees 3 (itself, middle, side)
    img[2, 2] = 2  # border column: counted but never a centre
    out = reference_seed_filter(img)
    assert out[1:4, 1].tolist() == [2, 2, 2] and out[2, 2] == 2


def test_seed_filter_min_count() -> None:
    img = np.ones((5, 5), np.uint8)
    img[2, 2] = 2
    assert reference_seed_filter(img, min_count=1)[2, 2] == 2
    assert reference_seed_filter(img, min_count=2)[2, 2] == 1


# --------------------------------------------------------------------------- seed buffer


def test_seed_buffer_grows_interior_pixels_only() -> None:
    img = np.ones((5, 5), np.uint8)
    img[2, 2] = 3
    out = reference_seed_buffer(img)
    assert (out[1:4, 1:4] == 3).all() and out.sum() == 9 * 3 + 16
    # a border pixel never spreads
    img = np.ones((5, 5), np.uint8)
    img[0, 2] = 2
    assert (reference_seed_buffer(img) == img).all()
    # an interior pixel spreads onto clear border pixels
    img = np.ones((4, 4), np.uint8)
    img[1, 1] = 2
    out = reference_seed_buffer(img)
    assert (out[0:3, 0:3] == 2).all() and (out[3, :] == 1).all() and (out[:, 3] == 1).all()


def test_seed_buffer_later_pixel_overwrites_earlier() -> None:
    img = np.ones((5, 5), np.uint8)
    img[2, 1] = 2
    img[2, 3] = 3
    out = reference_seed_buffer(img)
    # column 2 is in both blocks; (2,3) comes later in the scan -> 3
    assert out[1:4, 2].tolist() == [3, 3, 3]
    assert out[1:4, 0].tolist() == [2, 2, 2] and out[1:4, 4].tolist() == [3, 3, 3]
    # ... and the original non-clear pixels keep their labels
    assert out[2, 1] == 2 and out[2, 3] == 3
    # swapped
    img[2, 1], img[2, 3] = 3, 2
    assert reference_seed_buffer(img)[1:4, 2].tolist() == [2, 2, 2]
    # rows: (1,2) cloud then (3,2) shadow -> row 2 is shadow
    img = np.ones((5, 5), np.uint8)
    img[1, 2], img[3, 2] = 2, 3
    assert reference_seed_buffer(img)[2, 1:4].tolist() == [3, 3, 3]


def test_seed_buffer_reads_the_original_and_spares_no_observation() -> None:
    img = np.ones((5, 5), np.uint8)
    img[2, 2] = 2
    img[1, 1] = 0
    img[3, 3] = 3  # also a source, later in the scan
    out = reference_seed_buffer(img)
    assert out[1, 1] == 0  # no observation stays 0
    assert out[2, 2] == 2  # not clear in the original: keeps its label
    assert out[3, 3] == 3
    # a grown pixel does not grow again (the scan reads the original): (1,3) is
    # grown from (2,2) and would spread to (0,4) if it were read from the copy
    assert out[0, 4] == 1 and out[1, 3] == 2


# --------------------------------------------------------------------------- majority


def _centre_image(centre: int, neighbours: list[int]) -> np.ndarray:
    img = np.empty((3, 3), np.uint8)
    it = iter(neighbours)
    for y in range(3):
        for x in range(3):
            img[y, x] = centre if (y, x) == (1, 1) else next(it)
    return img


@pytest.mark.parametrize(
    ("centre", "neighbours", "expected"),
    [
        (1, [2] * 8, 2),  # 16/8 = 2
        (1, [3] * 8, 3),
        (1, [2, 2, 2, 2, 3, 3, 3, 3], 3),  # 20/8 = 2.5 rounds away from zero -> 3
        (1, [2, 2, 2, 2, 2, 3, 3, 3], 2),  # 19/8 = 2.375
        (1, [2, 2, 2, 3, 3, 3, 3, 3], 3),  # 21/8 = 2.625
        (1, [2, 2, 2, 2, 3, 3, 3, 1], 2),  # 17/7 = 2.43
        (1, [2, 2, 2, 3, 3, 3, 3, 1], 3),  # 18/7 = 2.57
        (1, [2, 2, 2, 2, 2, 2, 1, 1], 1),  # count 6 is not > 6
        (1, [2, 2, 2, 2, 2, 2, 2, 0], 2),  # 7 of the 7 observed neighbours
        (1, [2, 2, 2, 2, 2, 2, 0, 0], 1),  # 0 neighbours are not counted
        (2, [1] * 7 + [3], 1),  # 7 clear neighbours -> clear
        (3, [1] * 7 + [0], 1),
        (3, [1] * 6 + [2, 2], 3),
        (0, [2] * 8, 0),  # no observation is never a centre
    ],
)
def test_majority_single_centre(centre: int, neighbours: list[int], expected: int) -> None:
    out = reference_majority(_centre_image(centre, neighbours))
    assert out[1, 1] == expected
    # border pixels never change
    assert (
        np.delete(out.ravel(), 4) == np.delete(_centre_image(centre, neighbours).ravel(), 4)
    ).all()


def test_majority_min_count_override_and_half_rounding() -> None:
    # with min_count 3 a centre with 4 counted neighbours flips: (2+2+3+3)/4 = 2.5 -> 3
    img = _centre_image(1, [2, 2, 3, 3, 0, 0, 0, 0])
    assert reference_majority(img, min_count=3)[1, 1] == 3
    assert reference_majority(img)[1, 1] == 1


MAJ = np.array(
    [
        [1, 1, 1, 1, 1, 1],
        [1, 2, 2, 2, 2, 1],
        [1, 2, 1, 1, 2, 1],
        [1, 2, 2, 2, 1, 1],
        [1, 1, 1, 1, 1, 1],
    ],
    np.uint8,
)


def test_majority_reads_the_original_image() -> None:
    # A = (2,2): 7 cloud neighbours -> 2. B = (2,3): 6 cloud neighbours and A;
    # reading the original, A is clear, so B stays 1 (in place it would flip).
    # Every cloud pixel has at most 6 clear neighbours -> unchanged.
    out = reference_majority(MAJ)
    expected = MAJ.copy()
    expected[2, 2] = 2
    assert (out == expected).all()


def test_dea_spatial_runs_the_majority_filter_twice() -> None:
    # second pass: B now has 7 cloud neighbours -> 2; nothing else changes
    expected = MAJ.copy()
    expected[2, 2] = expected[2, 3] = 2
    out = reference_spatial(MAJ[None], "dea")
    assert (out[0] == expected).all()
    one = reference_spatial(MAJ[None], "dea", majority_passes=1)
    assert one[0, 2, 3] == 1


# --------------------------------------------------------------------------- whole pipeline


def _cube(
    names_per_pixel: dict[tuple[int, int], str], shape: tuple[int, int], base: str
) -> np.ndarray:
    T = len(base.split())
    cube = np.empty((6, T, *shape), np.float32)
    for y in range(shape[0]):
        for x in range(shape[1]):
            cube[:, :, y, x] = series(names_per_pixel.get((y, x), base))
    return cube


def test_classify_seed_isolated_cloud_is_filtered_and_block_is_buffered() -> None:
    base = "L L L L L"
    spike = "L L C L L"
    # one isolated pixel with a cloud date: detected, then erased by the filter
    cube = _cube({(3, 3): spike}, (7, 7), base)
    det = reference_detect(cube)
    assert det[2, 3, 3] == 2 and det.sum() == 7 * 7 * 5 + 1
    out = reference_classify(cube)
    assert (out == 1).all()
    assert (reference_classify(cube, spatial=False) == det).all()
    # a 3x3 block of cloud survives the filter and is buffered to 5x5
    cube = _cube({(y, x): spike for y in range(2, 5) for x in range(2, 5)}, (7, 7), base)
    out = reference_classify(cube)
    assert (out[2, 1:6, 1:6] == 2).all() and out[2].sum() == 25 * 2 + 24
    assert (out[[0, 1, 3, 4]] == 1).all()


def test_classify_dea_uses_majority_not_buffer() -> None:
    base = "L L L L L"
    spike = "L L C L L"
    cube = _cube({(y, x): spike for y in range(2, 5) for x in range(2, 5)}, (7, 7), base)
    out = reference_classify(cube, "dea")
    # the 3x3 block: edge and corner pixels have at most 5 clear neighbours, the
    # ring around it at most 3 cloud neighbours: majority changes nothing
    assert (out[2, 2:5, 2:5] == 2).all() and out[2].sum() == 9 * 2 + 40


def test_bad_input_shapes_are_rejected_clearly() -> None:
    with pytest.raises(ValueError, match=r"\(6, T, Y, X\)"):
        reference_detect(np.zeros((5, 2, 2, 2), np.float32))
    with pytest.raises(ValueError, match=r"\(6, T\)"):
        reference_pixel(np.zeros((6, 2, 2), np.float32))
    with pytest.raises(ValueError, match="unknown preset"):
        reference_detect(np.zeros((6, 2, 2, 2), np.float32), "nope")
