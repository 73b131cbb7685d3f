"""One declarative adapter per architecture family (tools.architectures), checked on real (tiny,
randomly initialised) models of every family, both as causal LMs and as bare models."""

from __future__ import annotations

import pytest
import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    Gemma2Config,
    Gemma2ForCausalLM,
    GPT2Config,
    GPT2Model,
    GPTNeoXConfig,
    GPTNeoXForCausalLM,
    LlamaConfig,
    LlamaModel,
    Qwen2Config,
    Qwen2ForCausalLM,
)

from tools.activations import read_sites
from tools.architectures import ARCHITECTURES
from tools.models import find_adapter, wrap_model
from tools.units import Unit

SMALL = dict(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, intermediate_size=64, vocab_size=100)
MODELS = {
    "gpt_neox": lambda: GPTNeoXForCausalLM(GPTNeoXConfig(**SMALL)),
    "qwen2": lambda: Qwen2ForCausalLM(Qwen2Config(**SMALL, num_key_value_heads=4)),
    "gemma2": lambda: Gemma2ForCausalLM(Gemma2Config(**SMALL, num_key_value_heads=4, head_dim=8)),
    "gpt2": lambda: GPT2Model(GPT2Config(n_embd=32, n_head=4, n_layer=2, n_inner=64, vocab_size=100)),
    "llama": lambda: LlamaModel(LlamaConfig(**SMALL)),
    "bert": lambda: BertForMaskedLM(BertConfig(**SMALL)),
}


@pytest.mark.parametrize("model_type", sorted(MODELS))
def test_every_family_reads_its_sites(model_type):
    subject = wrap_model(MODELS[model_type](), None, f"tiny-{model_type}")
    assert any(model_type in a.model_types for a in ARCHITECTURES)
    assert (subject.n_layers, subject.d_model, subject.d_mlp, subject.n_heads) == (2, 32, 64, 4)
    acts = read_sites(subject, {"input_ids": torch.tensor([[1, 2, 3, 4]])},
                      [Unit(1, "mlp"), Unit(1, "attn"), Unit(1, "resid")])
    assert acts[Unit(1, "mlp")].shape == (1, 4, 64) and acts[Unit(1, "attn")].shape == (1, 4, 4, 8)
    assert acts[Unit(1, "resid")].shape == (1, 4, 32)


def test_an_unknown_family_is_refused_naming_what_to_add():
    from transformers import T5Config, T5EncoderModel

    with pytest.raises(ValueError, match=r"no adapter for model_type 't5'.*Add an Architecture to "
                                         r"tools/architectures.py"):
        find_adapter(T5EncoderModel(T5Config(d_model=32, num_layers=2, num_heads=4, d_ff=64, vocab_size=100)))
