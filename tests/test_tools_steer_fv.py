"""Steering and function vectors on a tiny model, checked against plain PyTorch hooks."""
import numpy as np
import pytest
import torch

from tools.function_vectors import _prob_with_head_means, function_vector, icl_prompt
from tools.interventions import steer
from tools.models import tiny_model

torch.set_num_threads(1)
PAIRS = [(w, w.upper()) for w in "cat dog bird fish tree house car road sun moon star sky".split()]


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", n_layers=3, d_model=32, n_heads=4, d_mlp=64, seed=3)


def _hooked_last_logits(model, text, layer, vec):
    """Reference: add ``vec`` to block ``layer``'s output at the last token via a hook."""
    def hook(mod, args, out):
        out = out.clone()
        out[:, -1] += vec
        return out

    handle = model.block(layer).register_forward_hook(hook)
    with torch.no_grad():
        logits = model.model(**model.tokenize([text])).logits[0, -1]
    handle.remove()
    return logits.log_softmax(-1)


def test_steer_matches_hook_and_zero_scale_is_identity(model):
    vec = torch.randn(32)
    r = steer(model, "layer.1.resid", vec, 4.0, "the cat sat", positions="last", top=3)
    ref = _hooked_last_logits(model, "the cat sat", 1, 4.0 * vec)
    p, i = ref.exp().topk(3)
    assert [t for t, _ in r.top_after[0]] == [model.tokenizer.decode([int(j)]) for j in i]
    assert [v for _, v in r.top_after[0]] == pytest.approx(p.tolist(), abs=1e-5)
    same = steer(model, "layer.1.resid", vec, 0.0, ["the cat sat", "hi"])
    assert max(same.kl) < 1e-10
    with pytest.raises(ValueError, match="needs a vector of 8"):
        steer(model, "layer.0.attn.head.1", torch.randn(5), 1.0, "x")


def _hooked_greedy(model, text, layer, vec, n):
    """Reference: greedy continuation with ``vec`` added to block ``layer``'s output at every
    position of every forward (None: the model alone)."""
    def hook(mod, args, out):
        return out + vec

    handle = model.block(layer).register_forward_hook(hook) if vec is not None else None
    ids = model.tokenize([text])["input_ids"]
    out = []
    try:
        for _ in range(n):
            with torch.no_grad():
                nxt = int(model.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, -1].argmax())
            if nxt == model.tokenizer.eos_token_id:
                break
            out.append(nxt)
            ids = torch.cat([ids, torch.tensor([[nxt]])], dim=1)
    finally:
        if handle is not None:
            handle.remove()
    return model.tokenizer.decode(out)


def test_steer_generates(model):
    """Steering toward a token's unembedding makes greedy generation say it; both continuations
    match plain hooked generation; a zero-strength steer changes neither the logits nor the text."""
    dog = model.tokenizer.convert_tokens_to_ids("dog")
    toward = model.model.get_output_embeddings().weight[dog].detach()
    r = steer(model, "layer.2.resid", toward, 20.0, "the cat", max_new_tokens=3)
    assert len(r.continuation_before) == len(r.continuation_after) == 1
    assert r.continuation_before == [_hooked_greedy(model, "the cat", 2, None, 3)]
    assert r.continuation_after == [_hooked_greedy(model, "the cat", 2, 20.0 * toward, 3)] == ["dog dog dog"]
    assert r.continuation_after != r.continuation_before and r.kl[0] > 1e-3 and r.top_after != r.top_before
    same = steer(model, "layer.2.resid", toward, 0.0, "the cat", max_new_tokens=3)
    assert same.continuation_after == same.continuation_before == r.continuation_before
    assert same.top_after == same.top_before and max(same.kl) < 1e-10


def test_function_vector_aie_and_vector(model):
    fv = function_vector(model, PAIRS, n_prompts=2, n_shots=3, top_heads=2, seed=0)
    assert fv.aie.shape == (3, 4) and len(fv.heads) == 2
    assert fv.aie[fv.heads[0]] == fv.aie.max()
    # The vector is the sum of the top heads' mean writes.
    expected = sum(fv.mean_heads[layer, h] @ model.head_out_weight(layer).detach()[h] for layer, h in fv.heads)
    torch.testing.assert_close(fv.vector, expected.float())
    # One CIE recomputed with a hook that sets one head's out-projection input slice.
    prompt = icl_prompt(PAIRS[:3], PAIRS[3][0])
    answer = model.tokenizer(" " + PAIRS[3][1], add_special_tokens=False)["input_ids"][0]
    batched = _prob_with_head_means(model, prompt, answer, 1, fv.mean_heads[1])

    def pre(mod, args):
        z = args[0].clone()
        z[:, -1, 2 * 8:3 * 8] = fv.mean_heads[1, 2]
        return (z,)

    handle = model.attn_out_module(1).register_forward_pre_hook(pre)
    with torch.no_grad():
        p = model.model(**model.tokenize([prompt])).logits[0, -1].softmax(-1)[answer]
    handle.remove()
    assert float(batched[2]) == pytest.approx(float(p), abs=1e-6)
    assert np.isfinite(fv.aie).all()
