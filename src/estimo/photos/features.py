"""Hand-crafted features of a photo for the room-type model.

No pretrained network ships its weights in a light wheel here, so the room model learns on
classic scene descriptors computed on a 128 x 128 copy of the photo (about 20 ms a photo):

- colour: a joint HSV histogram (8 x 4 x 4 bins) and the mean and spread of L*a*b* in a
  3 x 3 grid (where the sky, floor and walls are);
- shape: a coarse histogram of oriented gradients (4 x 4 cells, 12 orientations);
- texture: uniform local binary patterns at two radii (tiles, wood, fabric);
- layout: a GIST-like descriptor, the energy of 24 Gabor filters (4 scales x 6 orientations)
  pooled on a 4 x 4 grid after local contrast normalisation.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from estimo.photos._deps import require

cv2 = require("cv2")
Image = require("PIL.Image")
_color = require("skimage.color")
_feature = require("skimage.feature")

SIZE = 128
FEATURE_BLOCKS: dict[str, int] = {"hsv": 128, "lab_grid": 54, "hog": 192, "lbp": 28, "gist": 384}
"""Feature blocks and their lengths, in the order of the feature vector."""
N_FEATURES = sum(FEATURE_BLOCKS.values())
FEATURE_VERSION = 1
"""Bumped whenever a feature changes (a saved model records the version it was trained on)."""


def _hsv_histogram(rgb: np.ndarray) -> np.ndarray:
    hsv = _color.rgb2hsv(rgb).reshape(-1, 3)
    hist, _ = np.histogramdd(hsv, bins=(8, 4, 4), range=((0, 1), (0, 1), (0, 1)))
    return hist.ravel() / len(hsv)


def _lab_grid(rgb: np.ndarray) -> np.ndarray:
    lab = _color.rgb2lab(rgb) / 100.0
    step = SIZE // 3
    cells = []
    for i in range(3):
        for j in range(3):
            cell = lab[i * step : (i + 1) * step, j * step : (j + 1) * step].reshape(-1, 3)
            cells.append(np.r_[cell.mean(axis=0), cell.std(axis=0)])
    return np.concatenate(cells)


def _lbp_histograms(gray_u8: np.ndarray) -> np.ndarray:
    out = []
    for points, radius in ((8, 1), (16, 2)):
        codes = _feature.local_binary_pattern(gray_u8, points, radius, method="uniform")
        out.append(np.bincount(codes.astype(np.int64).ravel(), minlength=points + 2) / codes.size)
    return np.concatenate(out)


@lru_cache(maxsize=1)
def _gabor_bank() -> tuple[np.ndarray, ...]:
    kernels = []
    for wavelength in (4, 8, 16, 32):
        for theta in np.arange(6) * np.pi / 6:
            kernel = cv2.getGaborKernel(
                (31, 31), sigma=0.56 * wavelength, theta=theta, lambd=wavelength, gamma=0.5, psi=0
            )
            kernel -= kernel.mean()
            kernels.append((kernel / np.abs(kernel).sum()).astype(np.float32))
    return tuple(kernels)


def _gist(gray: np.ndarray) -> np.ndarray:
    mean = cv2.GaussianBlur(gray, (0, 0), 8)
    spread = np.sqrt(cv2.GaussianBlur((gray - mean) ** 2, (0, 0), 8)) + 0.05
    normalised = (gray - mean) / spread
    pooled = [
        cv2.resize(np.abs(cv2.filter2D(normalised, -1, k)), (4, 4), interpolation=cv2.INTER_AREA)
        for k in _gabor_bank()
    ]
    return np.concatenate([p.ravel() for p in pooled])


def photo_features(image: Image.Image) -> np.ndarray:
    """The feature vector of one photo.

    Parameters
    ----------
    image : PIL.Image.Image
        The photo (any mode and size).

    Returns
    -------
    numpy.ndarray
        ``float32`` vector of length :data:`N_FEATURES`.

    Examples
    --------
    >>> from PIL import Image
    >>> photo_features(Image.new("RGB", (64, 48), "white")).shape
    (786,)
    """
    small = image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    rgb = np.asarray(small, dtype=np.float32) / 255.0
    gray = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    hog = _feature.hog(
        gray, orientations=12, pixels_per_cell=(32, 32), cells_per_block=(1, 1), feature_vector=True
    )
    blocks = [
        _hsv_histogram(rgb),
        _lab_grid(rgb),
        hog,
        _lbp_histograms(np.round(gray * 255).astype(np.uint8)),
        _gist(gray),
    ]
    return np.concatenate(blocks).astype(np.float32)
