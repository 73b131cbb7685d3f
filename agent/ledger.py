"""The hypothesis ledger: what the investigator currently believes and which observations moved it.

MAIA-style agents lose track of what they have tested; a structured ledger (updated through the
`record_hypotheses` tool, logged in the transcript) makes the reasoning auditable and lets the
builtin scientist and LLM backends share one representation.
"""

from __future__ import annotations

from typing import Any, Literal, Mapping

from pydantic import BaseModel, Field

Status = Literal["open", "supported", "refuted"]


class HypothesisUpdate(BaseModel):
    """One change to the ledger, as an investigator writes it."""

    id: str = Field(description="Short stable identifier, e.g. 'H1'; reuse it to update a hypothesis.")
    statement: str | None = Field(
        default=None, description="The claim, testable against the black box (required for a new id)."
    )
    status: Status = Field(default="open", description="open, supported or refuted.")
    evidence: str | None = Field(
        default=None, description="The observation that created or moved this hypothesis (inputs and outputs)."
    )


class Hypothesis(BaseModel):
    id: str
    statement: str
    status: Status = "open"
    #: (round, status after the update, evidence text): the observations that moved it.
    history: list[tuple[int, Status, str]] = Field(default_factory=list)


class Ledger(BaseModel):
    hypotheses: dict[str, Hypothesis] = Field(default_factory=dict)

    def apply(self, updates: list[HypothesisUpdate], round_no: int) -> list[str]:
        """Apply `updates` in order; return one problem per rejected update (others still apply)."""
        problems = []
        for u in updates:
            key = u.id.strip()
            if not key:
                problems.append("a hypothesis needs a non-empty id")
                continue
            h = self.hypotheses.get(key)
            if h is None:
                if not (u.statement and u.statement.strip()):
                    problems.append(f"{key}: a new hypothesis needs a statement")
                    continue
                h = self.hypotheses[key] = Hypothesis(id=key, statement=u.statement.strip())
            elif u.statement and u.statement.strip():
                h.statement = u.statement.strip()
            h.status = u.status
            h.history.append((round_no, u.status, (u.evidence or "").strip()))
        return problems

    def render(self) -> str:
        """One line per hypothesis, for observations and `aia show`."""
        if not self.hypotheses:
            return "(no hypotheses recorded)"
        lines = []
        for h in self.hypotheses.values():
            moved = len([e for _, _, e in h.history if e])
            lines.append(f"[{h.status}] {h.id}: {h.statement} (moved by {moved} observation(s))")
        return "\n".join(lines)


def changed_lines(shown: dict[str, tuple[str, str]], snapshot: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """`[status] id: statement` for each hypothesis of a ledger snapshot (as events carry it) that
    is new or changed since `shown`, which is updated in place: how a screen (the chat, `aia show`)
    prints each state of a hypothesis once."""
    lines = []
    for key, h in snapshot.items():
        now = (h["status"], h["statement"])
        if shown.get(key) != now:
            shown[key] = now
            lines.append(f"[{h['status']}] {key}: {h['statement']}")
    return lines
