"""Synthetic Sentinel-2-like time series with known cloud and shadow truth.

:func:`make_scene` builds a six-band (blue green red nir swir1 swir2) surface
reflectance time series over a landscape of forest, pasture, crops, bare soil,
urban, bright bare ground and water whose vegetation follows the seasons of
the southern hemisphere (green in spring, dry in summer; winter crops sown
in autumn and harvested in early summer). Over it drift thick and thin clouds,
different on every date, whose shadows are cast on the ground by the sun
(azimuth and elevation of a 10:30 overpass at the scene's latitude, or fixed
values) and a per-date cloud height. Missing dates and swath edges give
no-observation pixels.

The truth is physical, not the output of any detector:

* ``2`` cloud where the cloud's opacity (fraction of the surface signal it
  replaces) is at least ``cloud_threshold`` (0.15 by default: the thin edges
  of clouds and thin-cloud dates below that are counted clear, although they
  do brighten the surface slightly);
* ``3`` shadow where the cloud casting it has opacity at least
  ``shadow_threshold`` (0.5: the direct sunlight is at least halved) and the
  pixel is not cloud;
* ``0`` where any band has no data, ``1`` elsewhere.

Spectra are typical Sentinel-2 L2A surface reflectances (B02 B03 B04 B8A B11
B12) of each cover type; shadows keep the diffuse skylight (a larger share in
blue than in the SWIR, though nearly flat); clouds are blended over the surface by their opacity.
The generator is only as good as these simplifications: no adjacency effect,
no view-angle parallax, no haze gradients, no snow, no terrain shadows, and
the surface changes smoothly between dates. Accuracy measured against it
says how the method behaves on such scenes, not on the real world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from tsmask_qgis.bands import BANDS
from tsmask_qgis.classes import flag_attrs
from tsmask_qgis.evaluate._fields import (
    COARSE,
    date_cloud_fractions,
    noise_fields,
    sun_position,
    upsample,
)

__all__ = [
    "BANDS",
    "COVER_NAMES",
    "SPECTRA",
    "Scene",
    "make_scene",
]

#: Land-cover codes of :attr:`Scene.landcover`.
COVER_NAMES: dict[int, str] = {
    0: "water",
    1: "forest",
    2: "pasture",
    3: "crops",
    4: "bare_soil",
    5: "urban",
    6: "bright_bare_ground",
}

#: Typical surface reflectance (0..1) of the end-members, bands as in :data:`BANDS`.
SPECTRA: dict[str, tuple[float, float, float, float, float, float]] = {
    # Clear deep water: dark, absorbing in the NIR and SWIR (mndwi ~ +0.7).
    "water": (0.055, 0.050, 0.030, 0.015, 0.008, 0.005),
    # Evergreen (eucalypt) forest: darker than crops, strong NIR.
    "forest": (0.025, 0.045, 0.030, 0.280, 0.140, 0.065),
    # Green herbaceous vegetation at its peak (pasture, crops).
    "green_vegetation": (0.030, 0.070, 0.040, 0.380, 0.200, 0.090),
    # Senescent grass / stubble over soil.
    "dry_vegetation": (0.070, 0.100, 0.130, 0.220, 0.300, 0.240),
    # Bare cultivated soil.
    "bare_soil": (0.080, 0.110, 0.150, 0.210, 0.300, 0.260),
    # Roofs, roads, mixed urban fabric.
    "urban": (0.090, 0.100, 0.110, 0.160, 0.200, 0.180),
    # Bright dry ground (sand, salt-free playa, quarries): sa ~0.35, mndwi ~ -0.4.
    "bright_bare_ground": (0.160, 0.220, 0.310, 0.400, 0.520, 0.460),
    # Optically thick water cloud (surface reflectance products keep it bright).
    "cloud": (0.580, 0.560, 0.550, 0.580, 0.420, 0.300),
}

#: Share of the surface signal a full shadow keeps (diffuse light), per band. Nearly
#: flat: in the bundled Wright sample's fully shadowed date every band is 8.4-9.6 %
#: of the clear dates (light under a cloud deck is scattered by the cloud, spectrally
#: flat); a slight blue excess stands for open sky beside smaller clouds.
_DIFFUSE = np.array([0.13, 0.115, 0.105, 0.095, 0.09, 0.09], dtype=np.float32)

#: Default land-cover shares of the land (water comes first, from its own field).
_COVER_SHARES = (
    ("forest", 0.22),
    ("pasture", 0.27),
    ("crops", 0.22),
    ("bare_soil", 0.10),
    ("urban", 0.12),
    ("bright_bare_ground", 0.07),
)

_NODATA_INT = -999


@dataclass(frozen=True)
class Scene:
    """A synthetic scene and its truth.

    ``ds``: ``xarray.Dataset`` with ``blue green red nir swir1 swir2`` on
    ``(time, y, x)``, int16 reflectance x 10000 with ``nodata=-999`` (or
    float32 reflectance with NaN), georeferenced with odc-geo.
    ``truth``: uint8 ``(time, y, x)``: 0 no observation, 1 clear, 2 cloud,
    3 shadow. ``landcover``: uint8 ``(y, x)``, codes in :data:`COVER_NAMES`.
    ``cloud_opacity``: float16 ``(time, y, x)`` opacity of the cloud over each
    pixel (0..1), and ``shadow_strength`` the opacity of the cloud casting a
    shadow on it. ``sun_azimuth``/``sun_elevation`` (degrees),
    ``cloud_height`` (m) and ``shadow_offset`` (rows, columns: from a cloud
    to its shadow) are per date. ``resolution`` is the pixel size (m).
    With ``cloud_layers`` > 1, ``cloud_heights`` (time, layers) holds every
    layer's height and ``shadow_offsets`` (time, layers, 2) their offsets
    (layer 0 is ``cloud_height``/``shadow_offset``); otherwise they are the
    one-layer versions of the same.
    """

    ds: xr.Dataset
    truth: xr.DataArray
    landcover: xr.DataArray
    cloud_opacity: np.ndarray = field(repr=False)
    shadow_strength: np.ndarray = field(repr=False)
    sun_azimuth: np.ndarray = field(repr=False)
    sun_elevation: np.ndarray = field(repr=False)
    cloud_height: np.ndarray = field(repr=False)
    shadow_offset: np.ndarray = field(repr=False)
    seed: int = 0
    resolution: float = 20.0
    cloud_heights: np.ndarray | None = field(default=None, repr=False)
    shadow_offsets: np.ndarray | None = field(default=None, repr=False)

    @property
    def bands(self) -> np.ndarray:
        """The six bands stacked as one ``(6, time, y, x)`` array (the engine's layout)."""
        return np.stack([self.ds[b].values for b in BANDS])

    @property
    def reflectance(self) -> np.ndarray:
        """``(6, time, y, x)`` float32 reflectance 0..1 with NaN where there is no data."""
        arr = self.bands
        if arr.dtype.kind == "f":
            return arr.astype(np.float32, copy=False)
        out = arr.astype(np.float32) / np.float32(10000.0)
        out[arr == _NODATA_INT] = np.nan
        return out


def _landcover(
    rng: np.random.Generator, ny: int, nx: int, water_fraction: float, resolution: float
) -> np.ndarray:
    """Land-cover codes (:data:`COVER_NAMES`) from two smooth random fields."""
    size = 1200.0 / resolution  # patches of about a kilometre
    wet = noise_fields(rng, 1, (ny, nx), 2.5 * size, slope=1.8)[0]
    use = noise_fields(rng, 1, (ny, nx), size, slope=1.4)[0]
    nd = NormalDist()
    cover = np.empty((ny, nx), dtype=np.uint8)
    edges = np.cumsum([s for _, s in _COVER_SHARES])
    edges = edges / edges[-1]
    codes = {name: code for code, name in COVER_NAMES.items()}
    cover[:] = codes[_COVER_SHARES[-1][0]]
    cuts = [nd.inv_cdf(min(max(e, 1e-9), 1 - 1e-9)) for e in edges[:-1]]
    for (name, _), cut in zip(reversed(_COVER_SHARES[:-1]), reversed(cuts), strict=True):
        cover[use <= cut] = codes[name]
    if water_fraction > 0:
        cover[wet <= nd.inv_cdf(min(water_fraction, 1 - 1e-9))] = codes["water"]
    return cover


def make_scene(
    *,
    shape: tuple[int, int, int] = (73, 128, 128),
    seed: int = 0,
    start: str = "2017-01-01",
    revisit_days: int = 5,
    cloud_amount: float = 0.3,
    thin_cloud_dates: float = 0.15,
    cloud_size: float = 1500.0,
    cloud_height: tuple[float, float] = (800.0, 2500.0),
    cloud_layers: int = 1,
    sun_azimuth: float | None = None,
    sun_elevation: float | None = None,
    latitude: float = -35.3,
    water_fraction: float = 0.06,
    missing_dates: float = 0.02,
    swath_edges: float = 0.08,
    noise: float = 0.02,
    cloud_threshold: float = 0.15,
    shadow_threshold: float = 0.5,
    resolution: float = 20.0,
    crs: str = "EPSG:32755",
    origin: tuple[float, float] = (690000.0, 6100000.0),
    dtype: Literal["int16", "float32"] = "int16",
) -> Scene:
    """Build a synthetic Sentinel-2-like time series with its true classes.

    Args:
        shape: ``(time, y, x)``.
        seed: everything is a deterministic function of it (and the other options).
        start: date of the first acquisition (ISO string).
        revisit_days: days between acquisitions.
        cloud_amount: expected share of the observed pixel-dates that are cloud
            (truth class 2). Per-date cover is drawn from a U-shaped Beta
            distribution with this mean: many clear dates, some overcast.
        thin_cloud_dates: share of dates whose clouds are thin only (peak
            opacity 0.25..0.55; they cast no shadow above ``shadow_threshold``).
        cloud_size: typical cloud size in metres.
        cloud_height: range (m) of the per-date cloud-base height.
        cloud_layers: clouds of one date at this many heights (each drawn
            from ``cloud_height``): a smooth random field several cloud sizes
            across splits the date's sky into equal shares, each casting its
            shadow from its own height. 1 (default): one height per date.
        sun_azimuth, sun_elevation: fixed sun position in degrees; ``None``
            computes it per date for a 10:30 overpass at ``latitude``.
        latitude: for the sun position (default Canberra).
        water_fraction: share of the scene under water.
        missing_dates: probability that a date has no data at all.
        swath_edges: probability that a date is cut by a swath edge (no data
            on one side of a slanted line).
        noise: relative per-pixel, per-date noise (shared by the six bands).
        cloud_threshold: opacity from which a pixel counts as cloud in the truth.
        shadow_threshold: opacity of the casting cloud from which a pixel counts
            as shadow in the truth.
        resolution: pixel size in metres.
        crs, origin: CRS and top-left corner (x, y) of the grid.
        dtype: ``"int16"`` (reflectance x 10000, nodata -999, like DEA ARD) or
            ``"float32"`` (reflectance 0..1, NaN nodata).

    Returns:
        A :class:`Scene`.
    """
    nt, ny, nx = (int(v) for v in shape)
    if nt < 1 or ny < 2 or nx < 2:
        raise ValueError(f"shape must be (time>=1, y>=2, x>=2), got {shape!r}")
    if not 0.0 <= cloud_amount <= 1.0:
        raise ValueError(f"cloud_amount must be between 0 and 1, got {cloud_amount!r}")
    if dtype not in ("int16", "float32"):
        raise ValueError(f"dtype must be 'int16' or 'float32', got {dtype!r}")
    if revisit_days < 1:
        raise ValueError(f"revisit_days must be at least 1, got {revisit_days!r}")
    if isinstance(cloud_layers, bool) or not isinstance(cloud_layers, int) or cloud_layers < 1:
        raise ValueError(f"cloud_layers must be a positive integer, got {cloud_layers!r}")

    rng = np.random.default_rng(seed)
    times = pd.date_range(pd.Timestamp(start), periods=nt, freq=f"{int(revisit_days)}D")
    doy = times.day_of_year.to_numpy().astype(np.float64)

    # ---- sun, cloud heights and shadow offsets per date ------------------------------
    az_calc, el_calc = sun_position(doy, latitude)
    az = np.full(nt, sun_azimuth, dtype=np.float64) if sun_azimuth is not None else az_calc
    el = np.full(nt, sun_elevation, dtype=np.float64) if sun_elevation is not None else el_calc
    el = np.clip(el, 5.0, 90.0)
    heights = rng.uniform(cloud_height[0], cloud_height[1], size=nt)
    # Extra layers draw from their own stream: one layer gives the same scene as before.
    layer_rng = np.random.default_rng([int(seed), 11]) if cloud_layers > 1 else None
    layer_h = heights[:, None]
    if layer_rng is not None:
        more = layer_rng.uniform(cloud_height[0], cloud_height[1], size=(nt, cloud_layers - 1))
        layer_h = np.concatenate([layer_h, more], axis=1)
    ground = layer_h / np.tan(np.radians(el))[:, None] / resolution  # cloud to shadow, pixels
    d_rows = np.rint(ground * np.cos(np.radians(az))[:, None]).astype(np.intp)  # rows: south
    d_cols = np.rint(-ground * np.sin(np.radians(az))[:, None]).astype(np.intp)
    d_row, d_col = d_rows[:, 0], d_cols[:, 0]
    pad = int(max(np.abs(d_rows).max(initial=0), np.abs(d_cols).max(initial=0))) + 1

    # ---- the landscape ----------------------------------------------------------------
    cover = _landcover(rng, ny, nx, water_fraction, resolution)
    spec = {k: np.asarray(v, dtype=np.float32) for k, v in SPECTRA.items()}
    base = np.zeros((6, ny, nx), dtype=np.float32)  # end-member at f = 0
    delta = np.zeros((6, ny, nx), dtype=np.float32)  # green minus that end-member
    f0 = np.zeros((ny, nx), dtype=np.float32)
    f1 = np.zeros((ny, nx), dtype=np.float32)
    phase = np.zeros((ny, nx), dtype=np.float32)
    is_crop = cover == 3
    for code, name in COVER_NAMES.items():
        sel = cover == code
        if name == "forest":
            base[:, sel] = spec["dry_vegetation"][:, None]
            delta[:, sel] = (spec["forest"] - spec["dry_vegetation"])[:, None]
            f0[sel], f1[sel], phase[sel] = 0.9, 0.05, 290.0
        elif name == "pasture":
            base[:, sel] = spec["dry_vegetation"][:, None]
            delta[:, sel] = (spec["green_vegetation"] - spec["dry_vegetation"])[:, None]
            f0[sel], f1[sel], phase[sel] = 0.5, 0.35, 280.0
        elif name == "crops":
            base[:, sel] = spec["bare_soil"][:, None]
            delta[:, sel] = (spec["green_vegetation"] - spec["bare_soil"])[:, None]
            f0[sel], f1[sel] = 0.05, 0.9
        else:
            base[:, sel] = spec[name][:, None]
    # Crops grow in rectangular fields, each with its own peak date (80 % winter crops).
    fh, fw = max(2, int(400 / resolution)), max(2, int(600 / resolution))
    nfy, nfx = ny // fh + 2, nx // fw + 2
    peaks = np.where(
        rng.random((nfy, nfx)) < 0.8,
        rng.uniform(235, 285, (nfy, nfx)),
        rng.uniform(10, 50, (nfy, nfx)),
    )
    oy, ox = rng.integers(0, fh), rng.integers(0, fw)
    fy = (np.arange(ny) + oy) // fh
    fx = (np.arange(nx) + ox) // fw
    phase[is_crop] = peaks[fy[:, None], fx[None, :]][is_crop].astype(np.float32)
    # Static per-pixel brightness texture: urban is rough, bright ground varies most.
    texture = noise_fields(rng, 1, (ny, nx), 3.0, slope=1.0)[0]
    rough = np.select(
        [cover == 5, cover == 6, cover == 0], [0.22, 0.12, 0.03], default=0.07
    ).astype(np.float32)
    bright = np.clip(1.0 + rough * texture, 0.6, 1.45).astype(np.float32)
    bright[cover == 6] = np.clip(1.12 + 0.14 * texture[cover == 6], 0.85, 1.42)
    base *= bright
    delta *= bright

    # ---- clouds: one coarse field per date over a padded domain ------------------------
    hc = (ny + 2 * pad) // COARSE + 3
    wc = (nx + 2 * pad) // COARSE + 3
    clouds = noise_fields(rng, nt, (hc, wc), cloud_size / resolution / COARSE, slope=1.5)
    fine = noise_fields(rng, 1, (ny + 2 * pad + 32, nx + 2 * pad + 32), 1.5, slope=1.0)[0]
    fractions = date_cloud_fractions(rng, nt, cloud_amount)
    thin = rng.random(nt) < thin_cloud_dates
    peak_opacity = np.where(thin, rng.uniform(0.25, 0.55, nt), 1.0)
    width = np.where(thin, 1.5, 0.45)  # opacity ramp width, in standard deviations
    brightness = rng.uniform(0.85, 1.2, nt)
    tex_off = rng.integers(0, 32, size=(nt, 2))
    missing = rng.random(nt) < missing_dates
    edge = rng.random(nt) < swath_edges
    edge_angle = rng.uniform(-0.25, 0.25, nt)  # slant of the edge, radians from north
    edge_pos = rng.uniform(0.05, 0.6, nt)
    edge_side = rng.random(nt) < 0.5
    date_gain = rng.uniform(0.97, 1.03, nt).astype(np.float32)
    nd = NormalDist()
    layer_fields = None
    if layer_rng is not None:
        layer_scale = 3.0 * cloud_size / resolution / COARSE
        layer_fields = noise_fields(layer_rng, nt, (hc, wc), layer_scale, slope=1.5)
        layer_cuts = np.array([nd.inv_cdf(k / cloud_layers) for k in range(1, cloud_layers)])

    days = 2 * np.pi / 365.0
    out_dtype = np.int16 if dtype == "int16" else np.float32
    out = np.empty((6, nt, ny, nx), dtype=out_dtype)
    truth = np.empty((nt, ny, nx), dtype=np.uint8)
    opacity_all = np.zeros((nt, ny, nx), dtype=np.float16)
    shadow_all = np.zeros((nt, ny, nx), dtype=np.float16)
    cloud_spec = spec["cloud"][:, None, None]
    rows = np.arange(ny, dtype=np.float32)[:, None]
    cols = np.arange(nx, dtype=np.float32)[None, :]

    def opacity_at(t: int, r0: int, c0: int, thr: float) -> np.ndarray:
        g = upsample(clouds[t], r0, c0, ny, nx)
        a, b = r0 + tex_off[t, 0], c0 + tex_off[t, 1]
        g = g + 0.12 * fine[a : a + ny, b : b + nx]
        return np.clip((g - thr) / width[t], 0.0, 1.0) * peak_opacity[t]

    # Seasonal curves depend on (is_crop, phase) only: evaluate them per distinct pair.
    keys, key_index = np.unique(
        np.where(is_crop, phase + 1000.0, phase).ravel(), return_inverse=True
    )
    key_index = key_index.reshape(ny, nx)
    key_crop = keys >= 1000.0
    key_phase = np.where(key_crop, keys - 1000.0, keys)

    for t in range(nt):
        # Surface with its season: a cosine for forest and pasture, a bell around
        # each field's peak date for crops.
        ang = (doy[t] - key_phase) * days
        circ = np.angle(np.exp(1j * ang)) / days  # signed days from the peak
        curve = np.where(key_crop, np.exp(-((circ / 45.0) ** 2)), np.cos(ang)).astype(np.float32)
        frac = f0 + f1 * curve[key_index]
        gain = rng.standard_normal((ny, nx), dtype=np.float32)
        gain *= noise * date_gain[t]
        gain += date_gain[t]
        refl = delta * frac
        refl += base
        refl *= gain

        # Cloud and shadow opacities. The truth cut (cloud_threshold) falls at the
        # date's fraction quantile of the field (smoothed fields are close to Gaussian).
        f = float(np.clip(fractions[t], 1e-6, 1 - 1e-6))
        thr = nd.inv_cdf(1.0 - f) - cloud_threshold / peak_opacity[t] * width[t]
        if fractions[t] <= 0.0:
            thr = 1e9
        opacity = opacity_at(t, pad, pad, thr)
        if layer_fields is None:
            shadow = opacity_at(t, pad - int(d_row[t]), pad - int(d_col[t]), thr)
        else:
            shadow = np.zeros((ny, nx), dtype=np.float32)
            for k in range(cloud_layers):
                r0, c0 = pad - int(d_rows[t, k]), pad - int(d_cols[t, k])
                layer = np.digitize(upsample(layer_fields[t], r0, c0, ny, nx), layer_cuts)
                cast = opacity_at(t, r0, c0, thr)
                np.maximum(shadow, np.where(layer == k, cast, 0.0), out=shadow)
        if shadow.any():
            refl *= 1.0 - shadow[None] * (1.0 - _DIFFUSE[:, None, None])
        if opacity.any():
            cloud = cloud_spec * (brightness[t] * (0.85 + 0.15 * opacity))[None]
            cloud -= refl
            cloud *= opacity[None]
            refl += cloud

        lab = np.ones((ny, nx), dtype=np.uint8)
        lab[shadow >= shadow_threshold] = 3
        lab[opacity >= cloud_threshold] = 2
        nodata = np.zeros((ny, nx), dtype=bool)
        if missing[t]:
            nodata[:] = True
        elif edge[t]:
            s = (cols - edge_pos[t] * nx) * np.cos(edge_angle[t]) + rows * np.sin(edge_angle[t])
            nodata = (s < 0) if edge_side[t] else (s > (1 - 2 * edge_pos[t]) * nx)
        lab[nodata] = 0
        truth[t] = lab
        opacity_all[t] = opacity
        shadow_all[t] = shadow

        if dtype == "int16":
            np.clip(refl, 0.0, 3.2767, out=refl)
            refl *= 10000.0
            np.rint(refl, out=refl)
            np.copyto(out[:, t], refl, casting="unsafe")
            if nodata.any():
                out[:, t][:, nodata] = _NODATA_INT
        else:
            out[:, t] = refl
            out[:, t][:, nodata] = np.nan

    # ---- wrap up as xarray with a geobox -----------------------------------------------
    from affine import Affine
    from odc.geo.geobox import GeoBox
    from odc.geo.xr import xr_coords

    gbox = GeoBox((ny, nx), Affine(resolution, 0.0, origin[0], 0.0, -resolution, origin[1]), crs)
    coords = dict(xr_coords(gbox, crs_coord_name="spatial_ref"))
    coords["time"] = times.values.astype("datetime64[ns]")
    dims = ("time", "y", "x")
    attrs = {"nodata": _NODATA_INT} if dtype == "int16" else {}
    data_vars = {
        b: xr.DataArray(out[i], dims=dims, attrs={**attrs, "long_name": f"{b} reflectance"})
        for i, b in enumerate(BANDS)
    }
    ds = xr.Dataset(
        data_vars,
        coords=coords,
        attrs={
            "title": "tsmask-qgis synthetic Sentinel-2-like scene",
            "source": "tsmask_qgis.evaluate.synthetic.make_scene",
            "seed": int(seed),
            "cloud_amount": float(cloud_amount),
        },
    )
    truth_da = xr.DataArray(
        truth,
        dims=dims,
        coords=coords,
        name="truth",
        attrs={**flag_attrs(), "long_name": "true class of the synthetic scene"},
    )
    cover_da = xr.DataArray(
        cover,
        dims=("y", "x"),
        coords={k: v for k, v in coords.items() if k != "time"},
        name="landcover",
        attrs={
            "flag_values": list(COVER_NAMES),
            "flag_meanings": " ".join(COVER_NAMES.values()),
        },
    )
    return Scene(
        ds=ds,
        truth=truth_da,
        landcover=cover_da,
        cloud_opacity=opacity_all,
        shadow_strength=shadow_all,
        sun_azimuth=az,
        sun_elevation=el,
        cloud_height=heights,
        shadow_offset=np.stack([d_row, d_col], axis=1),
        seed=int(seed),
        resolution=float(resolution),
        cloud_heights=layer_h,
        shadow_offsets=np.stack([d_rows, d_cols], axis=2),
    )
