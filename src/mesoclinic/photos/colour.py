"""Colour correction from a ColorChecker in the frame (pure: numpy and OpenCV only, no Django).

Metrics such as the erythema index or ITA° depend on the light and the camera as much as on the
skin, so two photos are comparable only when taken the same way. When a 24-patch ColorChecker
Classic (Macbeth) is in the frame, `correct` finds it with OpenCV's `mcc` detector, fits a 3x3
colour-correction matrix on linear RGB with OpenCV's `ccm` (source linearised with gamma 2.2,
the matrix fitted to the chart's published reference colours by CIEDE2000) and applies it to the
whole image, returning sRGB uint8. Without a chart the image comes back unchanged, with
`chart_found` False and a warning for the user (`Corrected.warning`).

Detection runs on a copy reduced to at most `DETECT_MAX_SIDE` pixels on its longer side, so that
a 12 MP photo without a chart costs a fraction of a second. The patch colours are read on that
copy: area averaging keeps a uniform patch's mean, and the detector samples patch centres only.
A fit whose mean residual exceeds `MAX_RESIDUAL_DE` is taken for a false detection and not
applied (`method` "rejected_fit"): a wrong correction is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

DETECT_MAX_SIDE = 2000  # patches of a chart filling a tenth of a 12 MP frame stay ~25 px wide
MAX_RESIDUAL_DE = 10.0  # mean CIEDE2000 after the fit; a real chart under any usual light is far below
_SOURCE_GAMMA = 2.2  # the ccm default linearisation, kept so the matrix is the one `infer` applies
_BAND_ROWS = 512  # apply the matrix in bands so a 12 MP image never needs a full float copy

METHOD_CCM = "mcc24_ccm3x3"
METHOD_NONE = "none"
METHOD_REJECTED = "rejected_fit"


def gettext_noop(message: str) -> str:
    """Mark a message for translation; the Django layer translates it when shown."""
    return message


NO_CHART_WARNING = gettext_noop(
    "No colour chart in the frame: colours are not corrected, so compare these metrics only with "
    "photos taken the same way (same light, camera and settings)."
)
REJECTED_WARNING = gettext_noop(
    "A colour chart was found but could not be read reliably: colours are not corrected, so compare "
    "these metrics only with photos taken the same way (same light, camera and settings)."
)


@dataclass(frozen=True)
class Corrected:
    """The image to measure, and how (or whether) its colours were corrected.

    `residual` is the fit's mean CIEDE2000 over the chart patches (None when no chart was found).
    """

    rgb: np.ndarray
    chart_found: bool
    method: str
    residual: float | None

    @property
    def warning(self) -> str | None:
        """The message to show the user when colours were not corrected, else None."""
        if self.method == METHOD_CCM:
            return None
        return REJECTED_WARNING if self.method == METHOD_REJECTED else NO_CHART_WARNING


def correct(rgb: np.ndarray) -> Corrected:
    """Colour-correct an sRGB (H, W, 3) uint8 image from a ColorChecker in it, if there is one."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("expected an (H, W, 3) uint8 sRGB image")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError("expected a non-empty image")
    patches = _chart_patches(rgb)
    if patches is None:
        return Corrected(rgb=rgb, chart_found=False, method=METHOD_NONE, residual=None)
    model = fit_model(patches)
    residual = float(model.getLoss())
    if not np.isfinite(residual) or residual > MAX_RESIDUAL_DE:
        return Corrected(rgb=rgb, chart_found=False, method=METHOD_REJECTED, residual=residual)
    matrix = np.asarray(model.getCCM(), dtype=np.float64)
    return Corrected(rgb=apply_matrix(rgb, matrix), chart_found=True, method=METHOD_CCM, residual=residual)


def _chart_patches(rgb: np.ndarray) -> np.ndarray | None:
    """The 24 patch colours (24, 3) in RGB 0..1, chart order, or None when no chart is found."""
    height, width = rgb.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
    small = rgb
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    detector = cv2.mcc.CCheckerDetector.create()
    try:
        found = detector.process(bgr, cv2.mcc.MCC24, 1)
    except cv2.error:
        # A photo the detector chokes on is a photo without a usable chart, never an error.
        return None
    if not found:
        return None
    checker = detector.getBestColorChecker()
    if checker is None:
        return None
    # Rows are patch-major, channel-minor in R, G, B order; column 1 is the mean (0..255).
    charts = np.asarray(checker.getChartsRGB(), dtype=np.float64)
    if charts.shape != (72, 5):
        return None
    return charts[:, 1].reshape(24, 3) / 255.0


def fit_model(patches: np.ndarray) -> cv2.ccm.ColorCorrectionModel:
    """Fit (run) a 3x3 CCM from the 24 measured patch colours (RGB 0..1) to the Macbeth reference."""
    src = np.ascontiguousarray(patches, dtype=np.float64).reshape(24, 1, 3)
    model = cv2.ccm.ColorCorrectionModel(src, cv2.ccm.COLORCHECKER_Macbeth)
    model.setCCM_TYPE(cv2.ccm.CCM_3x3)
    model.setLinear(cv2.ccm.LINEARIZATION_GAMMA)
    model.setLinearGamma(_SOURCE_GAMMA)
    model.run()
    return model


def apply_matrix(rgb: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a fitted 3x3 CCM as `ColorCorrectionModel.infer` does, returning sRGB uint8.

    Same arithmetic as `infer` (gamma-2.2 linearisation, row vector times matrix, IEC 61966-2-1
    encoding) but in float32 bands with lookup tables: `infer` on a 12 MP image needs float64
    copies of about 300 MB each and several seconds.
    """
    decode = ((np.arange(256, dtype=np.float64) / 255.0) ** _SOURCE_GAMMA).astype(np.float32)
    levels = np.arange(65536, dtype=np.float64) / 65535.0
    encoded = np.where(levels <= 0.0031308, levels * 12.92, 1.055 * levels ** (1 / 2.4) - 0.055)
    encode = np.round(np.clip(encoded, 0.0, 1.0) * 255.0).astype(np.uint8)
    # cv2.transform computes M @ pixel; infer computes pixel @ CCM, hence the transpose.
    transform = np.ascontiguousarray(matrix.T, dtype=np.float32)
    out = np.empty_like(rgb)
    for top in range(0, rgb.shape[0], _BAND_ROWS):
        band = np.ascontiguousarray(rgb[top : top + _BAND_ROWS])
        linear = cv2.LUT(band, decode)
        mapped = np.asarray(cv2.transform(linear, transform), dtype=np.float32)
        np.clip(mapped, 0.0, 1.0, out=mapped)
        mapped *= 65535.0
        mapped += 0.5
        out[top : top + _BAND_ROWS] = encode[mapped.astype(np.uint16)]
    return out
