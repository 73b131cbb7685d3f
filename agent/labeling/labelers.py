"""The labeler role: one call, `labeler(job) -> UnitLabel`, whoever investigates the unit.

`aia label` asks its labeler the same way for the builtin labeler (agent.labeling.neurons for neurons
and dims, agent.labeling.heads for attention heads) and for an LLM (agent.labeling.llm); the spec
registry (agent.registry) builds one from `--backend`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Collection, Protocol

from agent.labeling.settings import LabelerSettings

if TYPE_CHECKING:
    from agent.backends.base import Policy
    from agent.labeling.neurons import UnitLabel
    from tools.exemplars import Exemplar
    from tools.models import SubjectModel


@dataclass(frozen=True)
class LabelJob:
    """One unit to label, with the run settings an investigation may use."""

    model: "SubjectModel"
    unit: str
    #: `neuron`, `head` or `dim`.
    kind: str
    #: The labeling exemplars (the held-out ones are the scorer's, never shown).
    seen: "list[Exemplar]"
    log_dir: Path
    #: The run's settings, all given by the run (evals.label_config.LabelConfig holds their defaults).
    corpus: Any
    max_rounds: int
    cache_root: Path | None
    max_windows: int | None
    #: The builtin labelers' thresholds (an LLM labeler has none).
    builtin: LabelerSettings


class Labeler(Protocol):
    def __call__(self, job: LabelJob) -> "UnitLabel": ...


class BuiltinLabeler:
    """The offline labelers: word and category tests for neurons and dims, role tests for heads."""

    def __init__(self, kinds: Collection[str] = ()) -> None:
        if "head" in kinds:  # fail before the run starts, not once per head
            try:
                import agent.labeling.heads  # noqa: F401
            except ImportError as e:
                raise ValueError(f"head units (layer.L.attn.head.H) need the head labeler agent.labeling.heads, "
                                 f"which cannot be imported here ({e}); label neurons or dims, or use an LLM backend"
                                 ) from e

    def __call__(self, job: LabelJob) -> "UnitLabel":
        if job.kind == "head":
            from agent.labeling.heads import investigate_head
            return investigate_head(job.model, job.unit, job.log_dir, job.builtin.head)
        from agent.labeling.neurons import investigate_unit
        return investigate_unit(job.model, job.unit, job.seen, job.log_dir, job.builtin.neuron)


class LLMLabeler:
    """A language model investigating with the model tools; each unit gets a fresh policy (a
    replay's position, a conversation's state never carry over from one unit to the next)."""

    def __init__(self, spec: str, new_policy: "Callable[[], Policy]") -> None:
        self.spec = spec
        self.new_policy = new_policy

    def __call__(self, job: LabelJob) -> "UnitLabel":
        from agent.labeling.llm import investigate_unit_llm
        return investigate_unit_llm(job.model, job.unit, self.new_policy(), job.seen, job.log_dir, backend=self.spec,
                                    corpus=job.corpus, max_rounds=job.max_rounds, cache_root=job.cache_root,
                                    max_windows=job.max_windows)
