"""Simulators: from a unit's *description* alone, predict its activation on every token.

Explain-simulate-score (Bills et al. 2023) needs someone who reads only the description
and guesses, token by token, where the unit fires.  Two such readers share one protocol:

- ``OfflineSimulator``: deterministic and lexical (no LLM).  The terms a description
  names (quoted words, else its content words; strongest first) predict 1.0 on the
  whole words (``tools.words``) with the same lemma (on the last piece; earlier pieces
  get half), decaying gently with rank; a named WordNet lexname
  (``noun.animal``) predicts 0.5 on words of that category; ``punctuation`` and
  ``start of the text`` name token classes.  It reads the builtin labeler's convention
  (agent/labeling/neurons.py) exactly and any plain-English description roughly.
- ``LLMSimulator``: an LLM (any LLM spec, ``agent.registry.complete``) reads
  the description and one excerpt's numbered tokens and answers an integer 0-10 per token,
  as in Bills et al.; one request per excerpt keeps replies short enough for weak models.

The LLM simulator also carries its ``LLMClient`` (``.llm``), so detection, fuzzing and the
causal contrast ask the same LLM; the offline simulator has ``llm = None`` and those
scorers then derive their answers from its per-token predictions.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Protocol

from agent.labeling.simulate import (  # noqa: F401 - re-exported: the scorers' and tests' names
    CATEGORY_WEIGHT,
    CLASS_WEIGHT,
    EARLY_PIECE_WEIGHT,
    RANK_DECAY,
    SimulationSpec,
    lexical_simulate,
    parse_description,
)
from agent.registry import Complete, complete, register, resolve, via_policy
from agent.task import Usage
from prompts import render

#: The LLM simulator's scale (Bills et al.): integers 0..MAX_LEVEL, divided by MAX_LEVEL.
MAX_LEVEL = 10


class ScorerReplyError(ValueError):
    """An LLM's reply to a scoring prompt could not be read; the message quotes its start."""


class Simulator(Protocol):
    """Reads a description and predicts each token's activation in [0, 1].

    ``llm`` is the LLM the other scorers should ask too (None: derive from ``simulate``);
    ``usage`` adds up every LLM call made through this simulator (zero offline), so a
    caller charges a unit with the difference before and after scoring it.
    """

    name: str
    llm: "LLMClient | None"
    usage: Usage

    def simulate(self, description: str, excerpts: list[list[str]]) -> list[list[float]]: ...


# ----------------------------------------------------------------------------- offline

@register("simulator", "offline")
class OfflineSimulator:
    """The deterministic lexical simulator (see the module docstring)."""

    name = "offline"
    llm = None

    def __init__(self) -> None:
        self.usage = Usage()

    def simulate(self, description: str, excerpts: list[list[str]]) -> list[list[float]]:
        return [p.tolist() for p in lexical_simulate(description, excerpts)]


# ----------------------------------------------------------------------------- LLM

@dataclass
class LLMClient:
    """One LLM behind a ``(system, prompt) -> (text, usage)`` callable; adds up what it costs.

    ``failures`` collects the replies the scorers could not read but recovered from (the
    simulator's documented per-excerpt fallback), so a run can report them.
    """

    ask_fn: Complete
    name: str
    usage: Usage = field(default_factory=Usage)
    failures: list[str] = field(default_factory=list)

    def ask(self, template: str, **ctx: object) -> str:
        """Render ``prompts/<template>`` with ``ctx`` and return the reply text."""
        text, used = self.ask_fn(render("simulate_system.j2"), render(template, **ctx))
        self.usage = self.usage + used
        return text or ""


def display_token(token: str) -> str:
    """A token as the LLM reads it, JSON-quoted so spaces and quotes stay visible: BPE
    word-start marks become a leading space, WordPiece ``##`` continuations stay as they are."""
    return json.dumps(token.replace("Ġ", " ").replace("▁", " ").replace("Ċ", "\n"), ensure_ascii=False)


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def parse_levels(reply: str, n: int) -> list[float]:
    """``n`` activation levels 0..10 from a simulation reply, scaled to [0, 1].

    Accepted: a JSON list of ``n`` numbers anywhere in the reply (the asked-for form), or
    ``n`` lines each ending in a number (``3<TAB>river<TAB>9``, ``river: 9``), which is what
    Bills et al.'s format and many chat models produce.  Out-of-range values are clipped.
    """
    for block in reversed(re.findall(r"\[[^\[\]]*\]", reply)):
        try:
            vals = json.loads(block)
        except json.JSONDecodeError:
            continue
        if isinstance(vals, list) and len(vals) == n and all(isinstance(v, (int, float)) for v in vals):
            return [min(max(float(v), 0.0), MAX_LEVEL) / MAX_LEVEL for v in vals]
    lines = [ln for ln in reply.splitlines() if _NUMBER.search(ln)]
    if len(lines) == n:
        return [min(max(float(_NUMBER.findall(ln)[-1]), 0.0), MAX_LEVEL) / MAX_LEVEL for ln in lines]
    raise ScorerReplyError(f"expected {n} activation levels (a JSON list of {n} integers 0-{MAX_LEVEL}), "
                           f"got: {reply[:200]!r}")


class LLMSimulator:
    """Bills et al.'s simulator: the LLM predicts 0-10 per token, one request per excerpt.

    Documented fallback: an excerpt whose reply cannot be read predicts 0 everywhere and the
    problem is kept in ``llm.failures``; when more than half of one call's excerpts are
    unreadable the call raises ``ScorerReplyError`` instead (the LLM is not following the
    format, and a score built on zeros would mislead).
    """

    def __init__(self, llm: LLMClient):
        self.llm = llm
        self.name = llm.name

    @property
    def usage(self) -> Usage:
        return self.llm.usage

    def simulate(self, description: str, excerpts: list[list[str]]) -> list[list[float]]:
        if not description.strip():
            raise ValueError("cannot simulate an empty description")
        out: list[list[float]] = []
        bad: list[str] = []
        for j, tokens in enumerate(excerpts):
            reply = self.llm.ask("simulate_tokens.j2", description=description,
                                 tokens=[display_token(t) for t in tokens], max_level=MAX_LEVEL)
            try:
                out.append(parse_levels(reply, len(tokens)))
            except ScorerReplyError as e:
                bad.append(f"excerpt {j}: {e}")
                out.append([0.0] * len(tokens))
        if excerpts and 2 * len(bad) > len(excerpts):
            raise ScorerReplyError(f"{self.name}: {len(bad)}/{len(excerpts)} simulation replies unreadable; "
                                   f"first: {bad[0]}")
        self.llm.failures.extend(f"simulate: {b}" for b in bad)
        return out


@via_policy("simulator", llm_only=True)
def _llm_simulator(spec: str, **options: object) -> Simulator:
    return LLMSimulator(LLMClient(complete(spec, **options), spec))


def make_simulator(spec: str = "offline", **options: object) -> Simulator:
    """``offline`` or an LLM spec (agent.registry resolves it); ``options`` go to the LLM's policy."""
    return resolve("simulator", spec, **options)
