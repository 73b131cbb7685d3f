"""Plots render, are sized to their content, and reject mismatched inputs."""
import numpy as np
import pytest

from tools.interventions import Sweep
from tools.plots import heatmap, sweep_heatmap, token_activations


def _boxes(img, first_line_y: int, line_h: int = 24) -> list[tuple[tuple[int, ...], int]]:
    """(colour, width) of every token box, line by line, read off the image: each line is
    scanned just inside the boxes' top edge (above the text), where a box is a run of one colour
    and the page around the boxes is white."""
    px = np.asarray(img)
    runs: list[tuple[tuple[int, ...], int]] = []
    for y in range(first_line_y + 1, img.size[1], line_h):
        row = [tuple(int(c) for c in p) for p in px[y]]
        x = 0
        while x < len(row):
            end = x
            while end < len(row) and row[end] == row[x]:
                end += 1
            if row[x] != (255, 255, 255):
                runs.append((row[x], end - x))
            x = end
    return runs


def _expected_colour(v: float, vmax: float) -> tuple[int, int, int]:
    if np.isnan(v):
        return (235, 235, 235)
    fade = int(round(255 * (1 - min(abs(v) / vmax, 1.0))))
    return (255, fade, fade) if v > 0 else (fade, fade, 255)


def test_token_activations_image(tmp_path):
    tokens = ["The", "Ġcat", "Ġsat"] * 30
    img = token_activations(tokens, np.linspace(-1, 1, 90), title="layer.0.mlp.neuron.1",
                            path=tmp_path / "t.png")
    assert (tmp_path / "t.png").exists() and img.size[0] == 900 and img.size[1] > 60
    # The strongest positive token is drawn red, the strongest negative blue.
    px = np.asarray(img)
    assert (px[..., 0].astype(int) - px[..., 2] > 200).any() and (px[..., 2].astype(int) - px[..., 0] > 200).any()
    with pytest.raises(ValueError, match="3 tokens but 2 values"):
        token_activations(["a", "b", "c"], [1.0, 2.0])
    # Every token's box, in reading order across the wrapped lines, has the colour of that
    # token's own value.
    assert [colour for colour, _ in _boxes(img, first_line_y=10 + 24)] == [_expected_colour(v, 1.0)
                                                                          for v in np.linspace(-1, 1, 90)]
    # ...and is the box sized by that token's text (short and long tokens alternate, a special
    # token is grey): a value drawn on a neighbour's box fails.
    tokens = [t for i in range(12) for t in (f"Ġi{i}", "Ġwwwwwwwwwwww")]
    values = [(-1) ** i * (i + 1) / len(tokens) for i in range(len(tokens))]
    values[5] = float("nan")
    img = token_activations(tokens, values, title="t", width=400)
    boxes = _boxes(img, first_line_y=10 + 24)
    assert img.size[1] > 10 + 24 * 4  # wrapped onto several lines
    assert [colour for colour, _ in boxes] == [_expected_colour(v, 1.0) for v in values]
    assert all(boxes[i][1] < boxes[i + 1][1] for i in range(0, len(boxes), 2))


def test_sweep_heatmap(tmp_path):
    s = Sweep("heads", np.arange(12.0).reshape(3, 4), clean=11.0, corrupt=0.0, tokens=["a"] * 5)
    img = sweep_heatmap(s, path=tmp_path / "h.png")
    assert (tmp_path / "h.png").exists() and img.size[1] > 3 * 22
    with pytest.raises(ValueError, match="labels"):
        heatmap(np.zeros((2, 2)), ["a"], ["b", "c"])
