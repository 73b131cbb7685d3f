"""Patching, sweeps, attribution patching and ablation on tiny models built from configs."""
import numpy as np
import pytest
import torch

from tools.interventions import ablate, attribution_sweep, logit_diff, patch, patching_sweep
from tools.models import tiny_model

torch.set_num_threads(1)
CLEAN, CORRUPT = "the cat sat on the mat today", "the dog sat on the rug today"


@pytest.fixture(scope="module", params=["llama", "gpt2"])
def model(request):
    return tiny_model(request.param, n_layers=3, d_model=32, n_heads=4, d_mlp=64, seed=1)


def test_patching_clean_into_clean_changes_nothing(model):
    for site in ("layer.1.resid", "layer.0.attn.head.2", "layer.2.mlp.neuron.0:10"):
        r = patch(model, CLEAN, CLEAN, site)
        assert r.patched == pytest.approx(r.clean, abs=1e-6)
    sweep = patching_sweep(model, CLEAN, CLEAN, over="resid")
    np.testing.assert_allclose(sweep.values, sweep.clean, atol=1e-5)


def test_full_patch_restores_clean(model):
    metric = logit_diff(model, "cat", "dog")
    r = patch(model, CLEAN, CORRUPT, "layer.2.resid", metric=metric)
    assert r.patched == pytest.approx(r.clean, abs=1e-5)
    assert r.recovery == pytest.approx(1.0, abs=1e-4)
    with torch.no_grad():
        clean_top = model.model(**model.tokenize([CLEAN])).logits[0, -1].softmax(-1).max()
    assert r.top_patched[0][1] == pytest.approx(float(clean_top), abs=1e-5)


@pytest.mark.parametrize("over", ["resid", "heads"])
def test_fast_sweep_equals_naive_loop(model, over):
    metric = logit_diff(model, "cat", "dog")
    fast = patching_sweep(model, CLEAN, CORRUPT, over=over, metric=metric, batch_size=3,
                          positions_per_batch=3)
    naive = patching_sweep(model, CLEAN, CORRUPT, over=over, metric=metric, method="naive")
    np.testing.assert_allclose(fast.values, naive.values, atol=1e-4)
    assert np.abs(naive.values - naive.corrupt).max() > 1e-4   # the sweep measures something


def test_attribution_correlates_with_exact(model):
    metric = logit_diff(model, "cat", "dog")
    for over in ("resid", "heads"):
        exact = patching_sweep(model, CLEAN, CORRUPT, over=over, metric=metric)
        approx = attribution_sweep(model, CLEAN, CORRUPT, over=over, metric=metric)
        assert approx.corrupt == pytest.approx(exact.corrupt, abs=1e-5)
        r = np.corrcoef(exact.values.ravel(), approx.values.ravel())[0, 1]
        assert r > 0.8, (over, r)


def test_patch_rejects_length_mismatch(model):
    with pytest.raises(ValueError, match="same token length"):
        patch(model, "the cat", "the big cat", "layer.0.resid")


@pytest.fixture(scope="module")
def planted():
    """GPT-2 where residual coordinate 0 is written only by neuron 5 of layer 1 (constant
    activation gelu(8) = 8) and read only by the unembedding of 'river': the neuron alone
    makes 'river' the prediction."""
    m = tiny_model("gpt2", n_layers=2, d_model=32, n_heads=4, d_mlp=64, seed=2)
    target = m.tokenizer.convert_tokens_to_ids("river")
    with torch.no_grad():
        m.model.transformer.wte.weight[:, 0] = 0.0
        m.model.transformer.wte.weight[target, 0] = 10.0      # tied: also the unembedding row
        m.model.transformer.wpe.weight[:, 0] = 0.0
        for block in m.model.transformer.h:
            for proj in (block.attn.c_proj, block.mlp.c_proj):
                proj.weight[:, 0] = 0.0
                proj.bias[0] = 0.0
        mlp = m.block(1).mlp
        mlp.c_fc.weight[:, 5] = 0.0
        mlp.c_fc.bias[5] = 8.0
        mlp.c_proj.weight[5, 0] = 4.0
    return m, target


def test_planted_neuron_ablation_changes_output_as_designed(planted):
    m, target = planted
    texts = ["the cat sat on the mat", "music played all night"]
    zero = ablate(m, "layer.1.mlp.neuron.5", texts, mode="zero", downstream=["layer.1.resid"])
    assert all(top[0][0] == "river" and top[0][1] > 0.9 for top in zero.top_before)
    assert all(dict(top).get("river", 0.0) < 0.01 for top in zero.top_after)
    assert min(zero.kl) > 2.0
    assert min(zero.downstream["layer.1.resid"]) > 0.5
    # A constant neuron's mean is itself: mean-ablation changes nothing.
    mean = ablate(m, "layer.1.mlp.neuron.5", texts, mode="mean")
    assert max(mean.kl) < 1e-6
    # Another neuron leaves the planted prediction in place.
    other = ablate(m, "layer.1.mlp.neuron.6", texts, mode="zero")
    assert all(top[0][0] == "river" for top in other.top_after)


def test_ablate_resample_and_encoder():
    enc = tiny_model("bert", n_layers=2, d_model=32, n_heads=4, d_mlp=64)
    r = ablate(enc, "layer.0.attn.head.1", ["the cat sat", "hello world again"], mode="resample")
    assert r.embedding_cosine is not None and all(0.5 < c < 1.0 for c in r.embedding_cosine)
    with pytest.raises(ValueError, match="zero, mean or resample"):
        ablate(enc, "layer.0.attn.head.1", ["x"], mode="bogus")


def test_remote_local_serialization_path():
    """remote='local' runs nnsight's NDIF serialize/deserialize path in-process."""
    m = tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64)
    here = patch(m, CLEAN, CORRUPT, "layer.1.attn.head.0", positions=[1, 2])
    m.remote = "local"
    there = patch(m, CLEAN, CORRUPT, "layer.1.attn.head.0", positions=[1, 2])
    assert there.patched == pytest.approx(here.patched, abs=1e-6)


def test_path_patching_invariants(model):
    from tools.interventions import path_patch
    metric = logit_diff(model, "cat", "dog")
    last = model.n_layers - 1
    # A sender in the last layer has no downstream heads to freeze: plain (noising) patching.
    pp = path_patch(model, CLEAN, CORRUPT, f"layer.{last}.attn.head.1", metric=metric)
    plain = patch(model, CORRUPT, CLEAN, f"layer.{last}.attn.head.1", metric=metric)
    assert pp.patched == pytest.approx(plain.patched, abs=1e-5)
    # The final residual stream is everything the logits see.
    direct = path_patch(model, CLEAN, CORRUPT, "layer.0.attn.head.1", metric=metric)
    via = path_patch(model, CLEAN, CORRUPT, "layer.0.attn.head.1", f"layer.{last}.resid", metric=metric)
    assert via.patched == pytest.approx(direct.patched, abs=1e-5)
    assert abs(direct.effect) > 1e-6
    same = path_patch(model, CLEAN, CLEAN, "layer.0.attn.head.1", "layer.2.attn.head.0", metric=metric)
    assert same.patched == pytest.approx(same.clean, abs=1e-6)
    with pytest.raises(ValueError, match="must come after"):
        path_patch(model, CLEAN, CORRUPT, "layer.1.attn.head.0", "layer.0.resid")


def test_from_nnsight_remote_local_sweep():
    """An nnsight model object drives the tools; remote='local' serializes every trace."""
    from nnsight import NNsight

    from tools.models import from_nnsight
    tiny = tiny_model("gpt2", n_layers=2, d_model=32, n_heads=4, d_mlp=64)
    metric = logit_diff(tiny, "cat", "dog")
    local = patching_sweep(tiny, CLEAN, CORRUPT, metric=metric)
    subject = from_nnsight(NNsight(tiny.model), tokenizer=tiny.tokenizer, remote="local")
    remote = patching_sweep(subject, CLEAN, CORRUPT, metric=metric)
    np.testing.assert_allclose(remote.values, local.values, atol=1e-5)


def test_sweep_on_sliding_window_model_equals_naive():
    """Gemma 3 attends through a sliding window on some layers: still exact."""
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    from tools.models import _minilm_path, wrap_model
    tok = AutoTokenizer.from_pretrained(_minilm_path())
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=tok.vocab_size, hidden_size=32, intermediate_size=64,
                           num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                           head_dim=8, sliding_window=4, max_position_embeddings=128)
    m = wrap_model(Gemma3ForCausalLM(cfg), tok, "tiny-gemma3")
    metric = logit_diff(m, "cat", "dog")
    fast = patching_sweep(m, CLEAN, CORRUPT, metric=metric, positions_per_batch=3)
    naive = patching_sweep(m, CLEAN, CORRUPT, metric=metric, method="naive")
    np.testing.assert_allclose(fast.values, naive.values, atol=1e-4)


def test_sweep_subset_of_layers(model):
    metric = logit_diff(model, "cat", "dog")
    full = patching_sweep(model, CLEAN, CORRUPT, metric=metric)
    part = patching_sweep(model, CLEAN, CORRUPT, metric=metric, layers=[1])
    np.testing.assert_allclose(part.values[1], full.values[1], atol=1e-6)
    assert np.isnan(part.values[[0, 2]]).all()
