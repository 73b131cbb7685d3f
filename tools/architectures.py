"""Where the units of each model family live: one declarative adapter per architecture.

After TransformerLens's per-architecture configs: instead of guessing module names, each family
states the dotted path (from the model's root) of its list of blocks, and (from a block) of the
attention out-projection and the MLP down-projection, whose *inputs* are the heads' outputs and
the neurons. A family lists every root path its Hugging Face classes use (the causal-LM class
nests the blocks one level deeper than the bare model). A model whose `config.model_type` no
entry names is refused with a message saying what to add here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    """One family of Hugging Face models, by the `model_type` values of their configs."""

    family: str
    """What people call it (in errors and listings)."""
    model_types: tuple[str, ...]
    """`config.model_type` values it covers."""
    layers: tuple[str, ...]
    """Paths of the ModuleList of blocks from the model's root, tried in order (one per root class)."""
    attn_out: str
    """Path of the attention out-projection from a block (its input: the heads' outputs)."""
    mlp_out: str
    """Path of the MLP down-projection from a block (its input: the neurons)."""


ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("GPT-2", ("gpt2",), ("transformer.h", "h"), "attn.c_proj", "mlp.c_proj"),
    Architecture("GPT-NeoX / Pythia", ("gpt_neox",), ("gpt_neox.layers", "layers"), "attention.dense",
                 "mlp.dense_4h_to_h"),
    Architecture("Llama / Mistral / Qwen", ("llama", "mistral", "qwen2", "qwen3"), ("model.layers", "layers"),
                 "self_attn.o_proj", "mlp.down_proj"),
    Architecture("Gemma", ("gemma", "gemma2", "gemma3", "gemma3_text"),
                 ("model.layers", "layers", "model.language_model.layers", "language_model.layers"),
                 "self_attn.o_proj", "mlp.down_proj"),
    Architecture("BERT", ("bert",), ("encoder.layer", "bert.encoder.layer"), "attention.output.dense",
                 "output.dense"),
)


def architecture_of(model_type: str) -> Architecture:
    """The entry for `model_type`; a ValueError naming the supported families and what to add."""
    for arch in ARCHITECTURES:
        if model_type in arch.model_types:
            return arch
    known = ", ".join(f"{a.family} ({'/'.join(a.model_types)})" for a in ARCHITECTURES)
    raise ValueError(f"no adapter for model_type {model_type!r}: aia knows {known}. Add an Architecture to "
                     "tools/architectures.py with the path of its block list and, from a block, of its attention "
                     "out-projection and MLP down-projection")
