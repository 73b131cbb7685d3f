"""Model-internals toolkit: what an investigator can do to a subject model.

Load a model (``load_model``), address its units (``tools.units``: ``layer.3.mlp.neuron.117``,
``layer.5.attn.head.2``, ``layer.4.resid``, ranges ``0:50``), read them (``call_unit``),
find dataset exemplars (``dataset_exemplars``), write and edit inputs
(``synthesize_inputs``, ``edit_inputs``), intervene (``ablate``, ``patch``,
``patching_sweep``, ``attribution_sweep``, ``path_patch``, ``steer``,
``function_vector``) and render images (``tools.plots``).

Names are imported lazily so that ``import tools`` stays cheap (torch, transformers and
nnsight load on first use).
"""
from importlib import import_module

#: Corpus windows an exemplar cache scans unless a command says otherwise: every command that reads
#: exemplars (label, check, chat, the model tools) takes this one default, so they share one cache.
DEFAULT_MAX_WINDOWS = 4000

_EXPORTS = {
    "load_model": "tools.models", "wrap_model": "tools.models", "tiny_model": "tools.models",
    "SubjectModel": "tools.models",
    "Unit": "tools.units", "UnitError": "tools.units", "parse_unit": "tools.units",
    "validate": "tools.units", "list_units": "tools.units", "expand": "tools.units",
    "call_unit": "tools.activations", "TokenActivations": "tools.activations",
    "load_corpus": "tools.corpus", "Corpus": "tools.corpus",
    "build_cache": "tools.exemplars", "dataset_exemplars": "tools.exemplars",
    "synthesize_inputs": "tools.inputs", "edit_inputs": "tools.inputs",
    "measure_edits": "tools.inputs", "fill_template": "tools.inputs", "LLMHook": "tools.inputs",
    "ablate": "tools.interventions", "patch": "tools.interventions",
    "patching_sweep": "tools.interventions", "attribution_sweep": "tools.interventions",
    "path_patch": "tools.interventions", "steer": "tools.interventions",
    "logit_diff": "tools.interventions", "logprob": "tools.interventions",
    "function_vector": "tools.function_vectors", "zero_shot_accuracy": "tools.function_vectors",
    "token_activations": "tools.plots", "heatmap": "tools.plots", "sweep_heatmap": "tools.plots",
}
__all__ = sorted([*_EXPORTS, "DEFAULT_MAX_WINDOWS"])


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tools' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
