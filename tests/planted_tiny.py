"""A tiny model with one neuron of known behaviour, shared by the labeling and scorer tests."""

from __future__ import annotations

import torch

from tools.models import SubjectModel, tiny_model

#: The word the planted neuron fires on, and its index in layer 0's MLP.
TARGET = "river"
NEURON = 3


def planted_model() -> SubjectModel:
    """One-layer GPT-2 whose MLP neuron NEURON reads embedding dim 0, set only for TARGET;
    attention and positions zeroed, so other tokens differ only through layer norm."""
    model = tiny_model("gpt2", n_layers=1, d_model=32, n_heads=4, d_mlp=16, seed=0)
    net = model.model.transformer
    target = model.tokenizer.convert_tokens_to_ids(TARGET)
    with torch.no_grad():
        block = net.h[0]
        block.attn.c_proj.weight.zero_()
        block.attn.c_proj.bias.zero_()
        net.wpe.weight.zero_()
        net.wte.weight[:, 0] = 0.0
        net.wte.weight[target, 0] = 1.0
        block.ln_2.weight.fill_(1.0)
        block.ln_2.bias.zero_()
        block.mlp.c_fc.weight[:, NEURON] = 0.0
        block.mlp.c_fc.weight[0, NEURON] = 3.0
        block.mlp.c_fc.bias[NEURON] = -2.0
    model._fingerprint = None
    return model
