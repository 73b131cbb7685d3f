"""Dollar cost per call from a per-model price table (USD per million tokens).

Prices change; the table is a default that a JSON file overrides
(`{"model-prefix": {"input": 2.5, "output": 10.0, "cached_input": 1.25}}`), given as the
`prices=` backend option or the AIA_PRICES environment variable. Models match by longest prefix,
so dated snapshots (`gpt-4o-2024-08-06`) use their family's price.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cached_input: float | None = None  # None: cached input tokens cost as much as other input


#: When the default table was last checked against the providers' published price pages
#: (openai.com/api/pricing, anthropic.com/pricing): standard tier, no batch discount. Prices change:
#: override them with a JSON file (see the module docstring).
PRICES_AS_OF = "2025-11-24"

DEFAULT_PRICES: dict[str, Price] = {
    # OpenAI (cached_input: prompt-cache reads)
    "gpt-5-pro": Price(15.00, 120.00),
    "gpt-5-nano": Price(0.05, 0.40, 0.005),
    "gpt-5-mini": Price(0.25, 2.00, 0.025),
    "gpt-5": Price(1.25, 10.00, 0.125),  # also gpt-5-chat-latest, gpt-5-codex, gpt-5.1
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4o-2024-05-13": Price(5.00, 15.00),
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "chatgpt-4o-latest": Price(5.00, 15.00),
    "gpt-4.5-preview": Price(75.00, 150.00, 37.50),
    "gpt-4-turbo": Price(10.00, 30.00),
    "gpt-4": Price(30.00, 60.00),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "o3-pro": Price(20.00, 80.00),
    "o3-mini": Price(1.10, 4.40, 0.55),
    "o3": Price(2.00, 8.00, 0.50),
    "o1-pro": Price(150.00, 600.00),
    "o1-mini": Price(1.10, 4.40, 0.55),
    "o1": Price(15.00, 60.00, 7.50),
    # Anthropic (cached_input: cache reads, 0.1 x input; cache writes are billed at 1.25 x input and
    # counted here as plain input)
    "claude-3-haiku": Price(0.25, 1.25, 0.03),
    "claude-3-5-haiku": Price(0.80, 4.00, 0.08),
    "claude-haiku-4-5": Price(1.00, 5.00, 0.10),
    "claude-3-5-sonnet": Price(3.00, 15.00, 0.30),
    "claude-3-7-sonnet": Price(3.00, 15.00, 0.30),
    "claude-sonnet-4": Price(3.00, 15.00, 0.30),  # also claude-sonnet-4-5 (prompts up to 200k tokens)
    "claude-sonnet-4-5": Price(3.00, 15.00, 0.30),
    "claude-3-opus": Price(15.00, 75.00, 1.50),
    "claude-opus-4": Price(15.00, 75.00, 1.50),  # also claude-opus-4-1
    "claude-opus-4-5": Price(5.00, 25.00, 0.50),
}


class PriceTable:
    def __init__(self, prices: dict[str, Price] | None = None):
        self.prices = dict(DEFAULT_PRICES if prices is None else prices)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PriceTable":
        """Defaults, overridden by the JSON file at `path` (or $AIA_PRICES when `path` is None)."""
        table = cls()
        path = path or os.environ.get("AIA_PRICES")
        if path:
            try:
                data = json.loads(Path(path).read_text())
                table.prices.update({k: Price(**v) for k, v in data.items()})
            except (OSError, ValueError, TypeError) as e:
                raise ValueError(f"bad price file {path}: {e} "
                                 "(expected {model: {input, output[, cached_input]}})") from e
        return table

    def lookup(self, model: str) -> Price | None:
        matches = [k for k in self.prices if model.startswith(k)]
        return self.prices[max(matches, key=len)] if matches else None

    def cost(self, model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float | None:
        """USD for one call; None when the model is not in the table. `input_tokens` includes cached ones."""
        p = self.lookup(model)
        if p is None:
            return None
        cached_rate = p.input if p.cached_input is None else p.cached_input
        return ((input_tokens - cached_tokens) * p.input + cached_tokens * cached_rate + output_tokens * p.output) / 1e6
