"""What an `aia label` run is: its settings and their defaults, in one place.

`LabelConfig` holds every default of a label run, with one docstring per field (after Delphi's
config dataclasses). The CLI, `run_labeling`, `aia check` and `aia chat` take their defaults from
it by reference, so a default is changed here once. This module imports nothing heavy: the CLI
reads these defaults to build its options before any command runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.labeling.settings import LabelerSettings
from tools import DEFAULT_MAX_WINDOWS

if TYPE_CHECKING:
    from tools.models import SubjectModel


@dataclass
class LabelConfig:
    """One labeling run's settings; config.json records them (see `identity` and `recorded`)."""

    model: "str | SubjectModel"
    """A model name or path (each worker loads it itself), or a loaded model (sent to each
    worker by value)."""

    units: str
    """The unit addresses asked for, space-separated (a resume may widen them)."""

    out: Path
    """The run directory."""

    backend: str = "builtin"
    """Who labels: ``builtin`` or an LLM spec."""

    workers: int = 1
    """Units labeled in parallel, each worker a process holding the model."""

    k: int = 20
    """Top-activating exemplars per unit; every other one is held out for scoring."""

    corpus: str = "default"
    """The exemplar corpus: ``default``, a .txt, .jsonl or .parquet file, or ``hf:NAME[:CONFIG][:SPLIT]``."""

    max_windows: int | None = DEFAULT_MAX_WINDOWS
    """Corpus windows the exemplar cache scans (None: all of them). Commands that read the same
    exemplars (`aia check`, `aia chat`) use this default too, so they share one cache."""

    n_random: int = 10
    """Random windows per unit, held out as the scorer's negatives."""

    simulator: str = "offline"
    """Who scores descriptions: ``offline`` or an LLM spec."""

    seed: int = 0
    """The scoring seed (baselines, detection samples)."""

    max_rounds: int = 12
    """Rounds an LLM labeler may take per unit. Fewer than `aia bench`'s 20: a labeler starts with
    the unit's exemplars in hand, where a bench investigation starts from nothing. The builtin
    labeler follows its own fixed plan and takes no round cap."""

    concurrency: int = 1
    """LLM labelers: units labeled at once, as threads of one process (their API waits overlap;
    the model's own work stays one at a time)."""

    max_usd: float | None = None
    """Dollars for the whole run (the labeler's usage in every row): once spent, no unit starts."""

    cache_root: Path | None = None
    """Where the exemplar cache lives (None: the default cache directory)."""

    backend_options: dict[str, Any] = field(default_factory=dict)
    """Options passed to the LLM backend as it is built."""

    feature_quality: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per attached SAE (its key, e.g. ``layer.3.resid.sae``): how well it reconstructs its site
    on the run's corpus (variance explained, L0), recorded beside its description in config.json."""

    labeler: LabelerSettings = field(default_factory=LabelerSettings)
    """The builtin labelers' thresholds (an LLM labeler does not read them)."""

    def identity(self, subject: "SubjectModel") -> dict[str, Any]:
        """The settings a resume must share (units may grow; workers may change). SAEs and
        directions attached to the model are part of it (by fingerprint); a run without any has
        the identity it always had."""
        out = {"model": subject.name, "fingerprint": subject.fingerprint(), "backend": self.backend,
               "k": self.k, "corpus": self.corpus, "max_windows": self.max_windows,
               "n_random": self.n_random, "simulator": self.simulator, "seed": self.seed,
               "max_rounds": self.max_rounds}
        if subject.features:
            out["features"] = {key: basis.fingerprint() for key, basis in sorted(subject.features.items())}
        return out

    def config(self, subject: "SubjectModel") -> dict[str, Any]:
        """Every setting as config.json records it (the model by name; the thresholds are
        `recorded`'s, the backend options are not recorded: they may hold an API key)."""
        from evals.config_help import recorded

        features = {key: basis.describe() | self.feature_quality.get(key, {})
                    for key, basis in sorted(subject.features.items())}
        return {"model": subject.name, **({"features": features} if features else {}),
                **recorded(self, leave_out=("model", "backend_options", "labeler", "feature_quality"))}

    def recorded(self) -> dict[str, Any]:
        """What config.json records when the run starts, beside its identity: the builtin labelers'
        thresholds, which shape a builtin run's labels (an LLM labeler does not read them). Not part
        of the identity, so a run written before they were recorded still resumes."""
        return {"labeler_settings": asdict(self.labeler)}
