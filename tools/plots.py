"""Images an agent (multimodal) or a person would rather look at than read: token
activations as coloured text, and heatmaps for patching sweeps.  Pillow only, so no
plotting stack is needed; every function returns a ``PIL.Image`` and saves it when given
a path.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

_BG = (255, 255, 255)
_FG = (20, 20, 20)


def _font(size: int = 14) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:                      # Pillow < 10.1: fixed bitmap font
        return ImageFont.load_default()


def _diverging(v: float, vmax: float) -> tuple[int, int, int]:
    """White at 0, red for positive, blue for negative, saturating at ``vmax``."""
    if not np.isfinite(v) or vmax <= 0:
        return (235, 235, 235)
    t = float(np.clip(abs(v) / vmax, 0.0, 1.0))
    fade = int(round(255 * (1 - t)))
    return (255, fade, fade) if v > 0 else (fade, fade, 255)


def _clean(token: str) -> str:
    return token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\\n").replace("##", "")


def token_activations(tokens: Sequence[str], values: Sequence[float], title: str = "",
                      width: int = 900, path: "str | Path | None" = None) -> Image.Image:
    """Tokens as wrapped text, each on a background coloured by its activation."""
    vals = np.asarray(values, dtype=float)
    if len(vals) != len(tokens):
        raise ValueError(f"{len(tokens)} tokens but {len(vals)} values")
    finite = vals[np.isfinite(vals)]
    vmax = float(np.abs(finite).max()) if finite.size else 0.0
    font = _font(14)
    pad, line_h = 10, 24
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    boxes, x, y = [], pad, pad + (line_h if title else 0)
    for tok in tokens:
        text = _clean(tok)
        w = int(probe.textlength(text, font=font)) + 4
        if x + w > width - pad and x > pad:
            x, y = pad, y + line_h
        boxes.append((x, y, w, text))
        x += w + 1
    img = Image.new("RGB", (width, y + line_h + 2 * pad), _BG)
    draw = ImageDraw.Draw(img)
    if title:
        draw.text((pad, pad), f"{title}   (max |a| = {vmax:.3g})", fill=_FG, font=font)
    for (bx, by, w, text), v in zip(boxes, vals):
        draw.rectangle([bx, by, bx + w, by + line_h - 3], fill=_diverging(v, vmax))
        draw.text((bx + 2, by + 3), text, fill=_FG, font=font)
    if path is not None:
        img.save(path)
    return img


def heatmap(values: np.ndarray, row_labels: Sequence[str], col_labels: Sequence[str],
            title: str = "", cell: int = 22, path: "str | Path | None" = None) -> Image.Image:
    """A labelled diverging heatmap (rows x columns), e.g. layers x positions."""
    values = np.asarray(values, dtype=float)
    if values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"values {values.shape} vs labels ({len(row_labels)}, {len(col_labels)})")
    font = _font(12)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    left = int(max(probe.textlength(str(r), font=font) for r in row_labels)) + 12
    top = int(max(probe.textlength(_clean(str(c)), font=font) for c in col_labels)) + 12 + (20 if title else 0)
    head = 20 if title else 0
    title_w = int(probe.textlength(f"{title}   (max |v| = 0.000e+00)", font=font)) + 12 if title else 0
    w = max(left + cell * values.shape[1] + 10, title_w)
    h = top + cell * values.shape[0] + 10
    img = Image.new("RGB", (w, h), _BG)
    draw = ImageDraw.Draw(img)
    finite = values[np.isfinite(values)]
    vmax = float(np.abs(finite).max()) if finite.size else 0.0
    if title:
        draw.text((6, 4), f"{title}   (max |v| = {vmax:.3g})", fill=_FG, font=font)
    for j, c in enumerate(col_labels):           # column labels, rotated, reading upwards
        label = Image.new("RGB", (top - head - 4, cell), _BG)
        ImageDraw.Draw(label).text((2, 4), _clean(str(c)), fill=_FG, font=font)
        img.paste(label.rotate(90, expand=True), (left + j * cell, head + 2))
    for i, r in enumerate(row_labels):
        draw.text((4, top + i * cell + 4), str(r), fill=_FG, font=font)
        for j in range(values.shape[1]):
            x0, y0 = left + j * cell, top + i * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=_diverging(values[i, j], vmax))
    if path is not None:
        img.save(path)
    return img


def sweep_heatmap(sweep, path: "str | Path | None" = None) -> Image.Image:
    """A patching/attribution ``Sweep`` as recovery: layers x positions (or heads)."""
    cols = sweep.tokens if sweep.over == "resid" else [f"h{h}" for h in range(sweep.values.shape[1])]
    rows = [f"L{layer}" for layer in range(sweep.values.shape[0])]
    with np.errstate(divide="ignore", invalid="ignore"):
        rec = sweep.recovery()
    return heatmap(rec, rows, cols, title=f"{sweep.over} patching: recovery of the clean metric", path=path)


def nice_step(span: float, target: int) -> float:
    """A 1-2-5 step that cuts `span` into about `target` parts (axis ticks, round sample inputs)."""
    raw = span / max(1, target)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power
