"""Plots render, are sized to their content, and reject mismatched inputs."""
import numpy as np
import pytest

from tools.interventions import Sweep
from tools.plots import heatmap, sweep_heatmap, token_activations


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


def test_sweep_heatmap(tmp_path):
    s = Sweep("heads", np.arange(12.0).reshape(3, 4), clean=11.0, corrupt=0.0, tokens=["a"] * 5)
    img = sweep_heatmap(s, path=tmp_path / "h.png")
    assert (tmp_path / "h.png").exists() and img.size[1] > 3 * 22
    with pytest.raises(ValueError, match="labels"):
        heatmap(np.zeros((2, 2)), ["a"], ["b", "c"])
