"""Input tokens per investigation, with the context view (agent.context) on and off.

    python benchmarks/context_tokens.py [--provider openai|anthropic|both] [--rounds 15] [--every 1 4 8] [--json]

A scripted investigator stands in for the LLM on a numeric FIND task: it alternates plots
(an image each), long run_python printouts, wide call_function probes and hypothesis notes
for `--rounds` rounds, then submits.  It runs through the real OpenAI/Anthropic SDKs and the
loopback fake server (tests/fake_llm), so the requests are what a real run sends.  For every
request the benchmark counts input tokens as the providers do:

- text: a quarter of the characters of the request (system, tool schemas, messages, with the
  base64 of images left out);
- images: OpenAI (detail high) 85 + 170 per 512-px tile after fitting into 2048x2048 and
  scaling the short side to 768; Anthropic w*h/750 after fitting the long side into 1568;
- cacheable: the tokens of the leading messages identical to the previous request's (plus
  system and tools), which is what prompt caching can bill at the cached rate (OpenAI caches
  only prefixes of 1024 tokens or more, in 128-token steps; the estimate applies that).

It prints, for the view off and for the view on at each `--every` (trim every N turns), the
total input tokens, the cacheable part, and the uncached rest (what is billed at the full rate),
each as a ratio to the view off.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import struct
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # the fake server lives in tests/, not installed

from agent.context import ContextPolicy  # noqa: E402
from agent.loop import AgentBackend  # noqa: E402
from agent.registry import resolve  # noqa: E402
from agent.task import Task  # noqa: E402
from tests.fake_llm import FakeLLMServer, Reply, ToolCall  # noqa: E402

SPECS = {"openai": "openai:gpt-4o-mini", "anthropic": "anthropic:claude-haiku-4-5"}
LONG_PRINT = "import math\nfor i in range(120):\n    print(i, [round(math.sin(i * k), 4) for k in range(1, 6)])"
CODE = "import math\n\ndef function(x):\n    return 3 * math.sin(x) + 0.5 * x"


class Box:
    """The hidden function, batched and counting its calls like a FIND black box."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, inputs: list[float]) -> list[float]:
        self.calls += len(inputs)
        return [3 * math.sin(x) + 0.5 * x for x in inputs]


def script_step(step: int, rounds: int) -> Reply:
    """The investigator's reply at `step` (the number of tool results so far)."""
    if step >= rounds - 1:
        return Reply("Submitting.", [ToolCall("submit", {"description": "3 sin(x) + x/2", "code": CODE})])
    kind = step % 4
    if kind == 0:
        return Reply(f"Plot {step}.", [ToolCall("plot_function", {"low": -20 - step, "high": 20 + step,
                                                                   "points": 41})])
    if kind == 1:
        return Reply(f"Long printout {step}.", [ToolCall("run_python", {"code": LONG_PRINT + f"\nprint({step})"})])
    if kind == 2:
        inputs = [i / 4 + step for i in range(-80, 80)]
        return Reply(f"Wide probe {step}.", [ToolCall("call_function", {"inputs": inputs})])
    return Reply(f"Notes {step}.", [ToolCall("record_hypotheses", {"hypotheses": [
        {"id": f"H{step}", "statement": "periodic plus linear", "status": "supported",
         "evidence": f"plot and probes up to step {step}"}]})])


def responder(rounds: int):
    def respond(body: dict[str, Any]) -> Reply:
        text = json.dumps(body.get("messages", []))
        step = text.count('"role": "tool"') + text.count('"type": "tool_result"')
        return script_step(step, rounds)
    return respond


# ----------------------------------------------------------------------------- counting


def png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])


def openai_image_tokens(w: int, h: int) -> int:
    scale = min(1.0, 2048 / max(w, h))
    w, h = w * scale, h * scale
    scale = min(1.0, 768 / min(w, h))
    w, h = w * scale, h * scale
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def anthropic_image_tokens(w: int, h: int) -> int:
    scale = min(1.0, 1568 / max(w, h))
    return math.ceil(w * scale * h * scale / 750)


def strip_images(node: Any, images: list[bytes]) -> Any:
    """`node` with every base64 image replaced by a placeholder; the images go to `images`."""
    import base64

    if isinstance(node, dict):
        if node.get("type") == "image_url":
            images.append(base64.b64decode(node["image_url"]["url"].split(";base64,", 1)[1]))
            return {"type": "image_url"}
        if node.get("type") == "image":
            images.append(base64.b64decode(node["source"]["data"]))
            return {"type": "image"}
        return {k: strip_images(v, images) for k, v in node.items() if k != "cache_control"}
    if isinstance(node, list):
        return [strip_images(v, images) for v in node]
    return node


def message_tokens(message: Any, provider: str) -> int:
    images: list[bytes] = []
    text = json.dumps(strip_images(message, images))
    per_image = openai_image_tokens if provider == "openai" else anthropic_image_tokens
    return len(text) // 4 + sum(per_image(*png_size(p)) for p in images)


def measure(requests: list, provider: str) -> list[dict[str, int]]:
    rows, previous = [], None
    for r in requests:
        body = copy.deepcopy(r.body)
        fixed = message_tokens({"system": body.get("system"), "tools": body.get("tools")}, provider)
        messages = [strip_images(m, []) for m in body["messages"]]
        sizes = [message_tokens(m, provider) for m in body["messages"]]
        same = 0
        if previous is not None:
            for a, b in zip(previous, messages):
                if a != b:
                    break
                same += 1
            # The previous request's last message carried the cache breakpoint; only what it sent counts.
            same = min(same, len(previous))
        cacheable = fixed + sum(sizes[:same]) if previous is not None else 0
        if provider == "openai":
            cacheable = 0 if cacheable < 1024 else cacheable // 128 * 128
        rows.append({"input": fixed + sum(sizes), "cacheable": cacheable,
                     "images": len(strip_images_count(body))})
        previous = messages
    return rows


def strip_images_count(body: dict) -> list[bytes]:
    images: list[bytes] = []
    strip_images(body.get("messages", []), images)
    return images


def run(provider: str, rounds: int, context: ContextPolicy | None) -> list[dict[str, int]]:
    task = Task(id="sin_plus_line", kind="numeric", black_box=Box(), max_rounds=rounds)
    with FakeLLMServer(responder(rounds)) as server:
        base = server.anthropic_base_url if provider == "anthropic" else server.openai_base_url
        policy = resolve("policy", SPECS[provider], api_key="test-key", base_url=base)
        backend = AgentBackend(policy, confine=False, context=context)
        result = backend.investigate(task)
        assert result.answer.code == CODE, "the scripted investigation did not finish"
        return measure(server.requests, provider)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=["openai", "anthropic", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--every", type=int, nargs="+", default=[1, 4, 8],
                        help="trim every N turns (ContextPolicy.every); one run per value")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"context": ContextPolicy().__dict__, "rounds": args.rounds}
    for provider in (["openai", "anthropic"] if args.provider == "both" else [args.provider]):
        runs = {"off": run(provider, args.rounds, None)}
        for every in args.every:
            runs[f"every {every}"] = run(provider, args.rounds, ContextPolicy(every=every))
        totals = {}
        for name, rows in runs.items():
            total = sum(r["input"] for r in rows)
            cached = sum(r["cacheable"] for r in rows)
            totals[name] = {"input": total, "cacheable": cached, "uncached": total - cached}
        off = totals["off"]
        report[provider] = {"total": totals, "ratios": {
            name: {k: round(t[k] / off[k], 3) for k in ("input", "uncached")} for name, t in totals.items()}}
        if not args.json:
            print(f"\n{SPECS[provider]}, {args.rounds} rounds: input tokens per investigation "
                  f"(images counted as {provider} does)")
            print(f"{'view':>10} {'input':>8} {'cacheable':>9} {'uncached':>8} {'input/off':>9} {'uncached/off':>12}")
            for name, t in totals.items():
                r = report[provider]["ratios"][name]
                print(f"{name:>10} {t['input']:>8} {t['cacheable']:>9} {t['uncached']:>8} {r['input']:>9} "
                      f"{r['uncached']:>12}")
    if args.json:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
