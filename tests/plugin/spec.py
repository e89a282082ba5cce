"""The spatial steps of algorithm.md written plainly, as the tests' expected values.

Loops straight from the text; slow and obvious on purpose (tiny images only).
"""

from __future__ import annotations

import numpy as np


def seed_filter(img: np.ndarray) -> np.ndarray:
    out = img.copy()
    h, w = out.shape
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            if out[y, x] in (2, 3):
                block = out[y - 1 : y + 2, x - 1 : x + 2]
                if np.isin(block, (2, 3)).sum() < 3:
                    out[y, x] = 1
    return out


def seed_buffer(img: np.ndarray) -> np.ndarray:
    copy = img.copy()
    h, w = img.shape
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            if img[y, x] in (2, 3):
                copy[y - 1 : y + 2, x - 1 : x + 2] = img[y, x]
    return np.where(img == 1, copy, img)


def majority(img: np.ndarray) -> np.ndarray:
    out = img.copy()
    h, w = img.shape
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            c = img[y, x]
            if c == 0:
                continue
            nb = [img[y + dy, x + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
            nb = [v for v in nb if v != 0]
            if c == 1:
                bad = [int(v) for v in nb if v in (2, 3)]
                if len(bad) > 6:
                    m = sum(bad) / len(bad)
                    out[y, x] = int(np.floor(m + 0.5))
            elif sum(1 for v in nb if v == 1) > 6:
                out[y, x] = 1
    return out
