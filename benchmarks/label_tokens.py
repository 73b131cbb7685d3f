"""Tokens and dollars per unit of an LLM labeling run, measured on the wire.

    python benchmarks/label_tokens.py [--model minilm] [--units layer.3.mlp.neuron.0:5]
                                      [--provider openai|anthropic|both] [--json]

A scripted investigator stands in for the LLM: it reads the exemplars the labeler is shown,
synthesizes its top words against control words, swaps the top word out of an exemplar,
ablates the unit, records a hypothesis and submits a label: six calls, the shape of a short
real investigation.  It runs through `run_labeling`, the real OpenAI/Anthropic SDKs and the
loopback fake server (tests/fake_llm), so the requests carry exactly what a real run sends:
system prompt, tool schemas, the growing history of tool results.  Input tokens are
estimated as a quarter of the request's characters (tool schemas included), output tokens
likewise from the reply; prompt caching, which real providers apply to the repeated
prefix, is ignored, so the dollars are an upper bound.  Dollars come from the project's price
table (agent/backends/pricing.py), for the spec's model and, projected from the same
tokens, for other models.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the fake server lives in tests/, not installed

from agent.backends.pricing import PriceTable  # noqa: E402
from evals.label_runner import LABELS, latest_rows, run_labeling  # noqa: E402
from tests.fake_llm import FakeLLMServer, Reply, ToolCall  # noqa: E402

SPECS = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-haiku-4-5"}
PROJECTED = ("gpt-4o-mini", "gpt-4.1-mini", "gpt-4o", "claude-haiku-4-5", "claude-sonnet-4")
CONTROLS = ["table", "green", "walk"]
_PEAK = re.compile(r"(?:^|[\s(])\[\[([A-Za-z]+)\]\](?=[\s.,;:!?)]|$)")
_SNIPPET = re.compile(r"^\d+\. [-0-9.e+]+: (.*?)   \[strongest tokens", re.MULTILINE)


def _exemplar_reply(body: dict[str, Any]) -> str:
    """The text of the first tool result (the exemplars), in either wire format."""
    for m in body.get("messages", []):
        if m.get("role") == "tool":
            return m["content"]
        if isinstance(m.get("content"), list):
            for block in m["content"]:
                if block.get("type") == "tool_result":
                    return "".join(part.get("text", "") for part in block["content"])
    return ""


def scripted_investigator(body: dict[str, Any]) -> Reply:
    """The next step of the script, from what the conversation holds so far."""
    text = json.dumps(body)
    unit = re.search(r"Unit under study: (\S+) \(", text).group(1)
    step = text.count('"role": "tool"') + text.count('"type": "tool_result"')
    reply = _exemplar_reply(body)
    words = list(dict.fromkeys(w.lower() for w in _PEAK.findall(reply))) or ["the"]
    snippets = [s.replace("[[", "").replace("]]", "") for s in _SNIPPET.findall(reply)]
    top = words[0]
    with_top = [s for s in snippets if re.search(rf"\b{re.escape(top)}\b", s)] or [f"I saw the {top} there."]
    plan = [
        ("Let me read the unit's top exemplars first.", ToolCall("exemplars", {"unit": unit, "k": 10})),
        (f"It peaks on {', '.join(words[:3])}; I compare them with control words in one frame.",
         ToolCall("synthesize", {"unit": unit, "template": "I saw the {w} yesterday.",
                                 "slots": {"w": words[:3] + CONTROLS}})),
        (f"Does '{top}' itself drive it, or its context? Swap it out of an exemplar.",
         ToolCall("edit", {"unit": unit, "text": with_top[0], "swaps": {top: CONTROLS[:2]}})),
        ("Now the causal test: ablate the unit where it fires.",
         ToolCall("ablate", {"unit": unit, "texts": (snippets[:2] or with_top)})),
        ("Recording what the experiments showed.",
         ToolCall("record_hypotheses", {"hypotheses": [{"id": "H1", "statement": f"fires on '{top}'",
                                                        "status": "supported",
                                                        "evidence": "synthesize and edit experiments"}]})),
        ("Submitting the label.",
         ToolCall("submit_label", {"label": " / ".join(words[:3]),
                                   "description": "Fires on the words " + ", ".join(f"'{w}'" for w in words[:3])
                                                  + " (strongest first), in the contexts of its exemplars.",
                                   "evidence": [f"'{top}' peaks above the control words {CONTROLS}",
                                                f"swapping '{top}' for control words changes the peak",
                                                "zero-ablation changes the output where it fires"]})),
    ]
    say, call = plan[min(step, len(plan) - 1)]
    return Reply(text=say, tool_calls=[call], input_tokens=max(1, len(json.dumps(body)) // 4))


def measure(model: str, units: str, provider: str, out: Path) -> list[dict[str, Any]]:
    """Label ``units`` with the scripted investigator behind ``provider``'s SDK; the rows."""
    spec = SPECS[provider]
    variables = {"openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL"),
                 "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")}[provider]
    saved = {v: os.environ.get(v) for v in variables}
    with FakeLLMServer(scripted_investigator) as server:
        os.environ[variables[0]] = "benchmark"
        os.environ[variables[1]] = server.openai_base_url if provider == "openai" else server.anthropic_base_url
        try:
            run_labeling(model, units, spec, out)
        finally:
            for v, old in saved.items():
                if old is None:
                    os.environ.pop(v, None)
                else:
                    os.environ[v] = old
    return list(latest_rows(out / LABELS).values())


def report(provider: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-unit usage, the means, and the same tokens priced for other models."""
    prices = PriceTable.load()
    per_unit = [{"unit": r["unit"], **r["usage"], "error": r.get("error")} for r in rows]
    n = max(1, len(rows))
    mean_in = sum(u["input_tokens"] for u in per_unit) / n
    mean_out = sum(u["output_tokens"] for u in per_unit) / n
    return {"provider": provider, "spec": SPECS[provider], "units": per_unit,
            "mean": {"input_tokens": round(mean_in), "output_tokens": round(mean_out),
                     "llm_calls": sum(u["llm_calls"] for u in per_unit) / n,
                     "cost_usd": round(sum(u["cost_usd"] for u in per_unit) / n, 6)},
            "projected_usd_per_unit": {m: round(prices.cost(m, round(mean_in), round(mean_out)) or 0.0, 6)
                                       for m in PROJECTED}}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--units", default="layer.3.mlp.neuron.0:5")
    ap.add_argument("--provider", choices=("openai", "anthropic", "both"), default="both")
    ap.add_argument("--out", type=Path, default=None, help="run directories go here (default: a temporary one)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args(argv)
    providers = ["openai", "anthropic"] if args.provider == "both" else [args.provider]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        results = [report(p, measure(args.model, args.units, p, root / p)) for p in providers]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        print(f"\n{r['spec']} on {args.model} {args.units}")
        print(f"{'unit':28} {'calls':>5} {'input':>8} {'output':>7} {'USD':>9}")
        for u in r["units"]:
            print(f"{u['unit']:28} {u['llm_calls']:>5} {u['input_tokens']:>8} {u['output_tokens']:>7} "
                  f"{u['cost_usd']:>9.5f}" + (f"  error: {u['error']}" if u["error"] else ""))
        m = r["mean"]
        print(f"{'mean per unit':28} {m['llm_calls']:>5.1f} {m['input_tokens']:>8} {m['output_tokens']:>7} "
              f"{m['cost_usd']:>9.5f}")
        print("same tokens priced for: " + ", ".join(f"{k} ${v:.4f}" for k, v in r["projected_usd_per_unit"].items()))


if __name__ == "__main__":
    main()
