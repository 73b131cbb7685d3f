"""The labelers: what names a unit of a network (a neuron, a head) and says why.

`labelers.py` is the one call every labeler answers (`LabelJob` in, a label out), resolved from a
spec by the registry; `neurons.py` is the builtin neuron labeler (exemplars, synthesized
contrasts, WordNet categories, ablation and edit tests), `heads.py` the builtin head labeler
(attention on repeated sequences, mean ablation), `llm.py` an LLM labeling on the investigation
engine over the model tools, and `settings.py` the builtin labelers' thresholds, recorded with
every run.
"""
