"""The experiment loop with scripted policies: termination, validation feedback, budgets, transcript, replay."""

from __future__ import annotations

import json

import pytest

from agent.engine import Budget, truncate
from agent.loop import AgentBackend
from agent.messages import AssistantTurn, ToolCall, ToolResult, UserMessage
from agent.registry import make_backend
from agent.task import Task, Usage
from agent.transcript import read_transcript, show_transcript
from tests.conftest import CountingBox, needs_sandbox


class ScriptedPolicy:
    """Plays fixed turns and records what the loop showed it."""

    name = "scripted"
    accepts_images = True

    def __init__(self, turns, native_tools=True, tokens=(100, 10)):
        self.turns = list(turns)
        self.native_tools = native_tools
        self.tokens = tokens
        self.seen: list[tuple[str, list]] = []

    def next_turn(self, system, history, tools):
        self.seen.append((system, list(history)))
        turn = self.turns.pop(0) if self.turns else AssistantTurn(text="")
        turn.usage = Usage(input_tokens=self.tokens[0], output_tokens=self.tokens[1], cost_usd=0.01, llm_calls=1)
        return turn


def call(name, **args):
    call.n = getattr(call, "n", 0) + 1
    return ToolCall(f"id{call.n}", name, args)


def linear_task(**kw) -> Task:
    return Task(id="t1", kind="numeric", black_box=CountingBox(lambda x: 2 * x + 1), **kw)


GOOD_CODE = "def function(x):\n    return 2 * x + 1"


def test_full_investigation_ends_on_valid_submit(tmp_path):
    policy = ScriptedPolicy([
        AssistantTurn("probe", [call("call_function", inputs=[0, 1, 2])]),
        AssistantTurn("", [call("record_hypotheses", hypotheses=[
            {"id": "H1", "statement": "f is linear", "status": "supported", "evidence": "f(0)=1, f(1)=3"}])]),
        AssistantTurn("", [call("submit", description="linear")]),  # numeric needs code: rejected
        AssistantTurn("", [call("submit", description="2x+1", code=GOOD_CODE)]),
        AssistantTurn("never reached", []),
    ])
    task = linear_task()
    result = AgentBackend(policy, use_sandbox=False).investigate(task, tmp_path)
    assert result.answer.code == GOOD_CODE and result.rounds == 4
    u = result.usage
    assert (u.input_tokens, u.output_tokens, u.llm_calls) == (400, 40, 4) and u.cost_usd == pytest.approx(0.04)
    assert task.black_box.calls == 3
    # The loop showed the policy the real outputs and the rejection reason.
    history = policy.seen[1][1]
    assert isinstance(history[-1], ToolResult) and "f(2) = 5" in history[-1].text
    assert history[-1].data == {"inputs": [0.0, 1.0, 2.0], "outputs": [1.0, 3.0, 5.0]}
    rejection = policy.seen[3][1][-1]
    assert rejection.is_error and "def function" in rejection.text
    events = list(read_transcript(tmp_path))
    types = [e["type"] for e in events]
    assert types[:3] == ["start", "system", "user"] and types[-1] == "end"
    assert "hypotheses" in types
    end = events[-1]
    assert (end["stop_reason"] == "submitted" and end["black_box_calls"] == 3
            and end["ledger"]["H1"]["status"] == "supported")
    text = show_transcript(tmp_path)
    assert "f(2) = 5" in text and "stopped: submitted after 4 rounds" in text


def test_round_cap_then_one_final_request(tmp_path):
    turns = [AssistantTurn("", [call("call_function", inputs=[i])]) for i in range(3)]
    turns.append(AssistantTurn("", [call("call_function", inputs=[9]),
                                    call("submit", description="2x+1", code=GOOD_CODE)]))
    policy = ScriptedPolicy(turns)
    task = linear_task(max_rounds=3)
    result = AgentBackend(policy, use_sandbox=False).investigate(task, tmp_path)
    assert result.rounds == 4 and result.answer.description == "2x+1"
    # In the final round experiments are refused; only submit runs.
    assert task.black_box.calls == 3
    final_history = policy.seen[-1][1]
    assert isinstance(final_history[-1], UserMessage) and "final answer" in final_history[-1].text
    events = [e["type"] for e in read_transcript(tmp_path)]
    assert events.count("final_request") == 1


def test_no_valid_answer_falls_back_to_last_attempt(tmp_path):
    policy = ScriptedPolicy([AssistantTurn("", [call("submit", description="linear, no code")])])
    result = AgentBackend(policy, use_sandbox=False, budget=Budget(max_rounds=2)).investigate(linear_task(), tmp_path)
    assert result.rounds == 3 and result.answer.description == "linear, no code"
    events = list(read_transcript(tmp_path))
    assert events[-1]["accepted"] is False and events[-1]["answer_problems"]
    assert events[-2]["type"] == "assistant"  # no nudge after the final request


def test_empty_and_unparseable_replies_become_error_observations():
    policy = ScriptedPolicy([AssistantTurn(""),
                             AssistantTurn("thinking",
                                           [ToolCall("x", "call_function", {}, "arguments are not valid JSON")])],
                            native_tools=False)
    AgentBackend(policy, use_sandbox=False, budget=Budget(max_rounds=2)).investigate(linear_task())
    system, history = policy.seen[1]
    assert "COMMAND:" in system and "call_function(inputs" in system  # text protocol documents the tools
    assert isinstance(history[-1], UserMessage) and "empty" in history[-1].text
    history = policy.seen[2][1]  # the final request follows the error observation
    assert history[-2].is_error and "not valid JSON" in history[-2].text


def test_token_budget_stops_exploration_early():
    policy = ScriptedPolicy([AssistantTurn("", [call("call_function", inputs=[1])]) for _ in range(10)],
                            tokens=(600, 0))
    result = AgentBackend(policy, use_sandbox=False, budget=Budget(max_tokens=1000)).investigate(linear_task())
    assert result.rounds == 3  # two exploratory calls reach 1200 tokens, then the one final request
    assert "token budget" in policy.seen[-1][1][-1].text


def test_prompt_prefix_is_stable_and_observations_truncated():
    long = list(range(-128, 128)) * 3
    policy = ScriptedPolicy([AssistantTurn("", [call("call_function", inputs=long)]), AssistantTurn("", [])])
    AgentBackend(policy, use_sandbox=False, observation_chars=500,
                 budget=Budget(max_rounds=2)).investigate(linear_task())
    (sys1, h1), (sys2, h2) = policy.seen[:2]
    assert sys1 == sys2 and h2[: len(h1)] == h1  # append-only history, same system prompt
    obs = h2[len(h1) + 1]
    assert len(obs.text) < 600 and "characters omitted" in obs.text


def test_truncate_keeps_head_and_tail():
    text = "a" * 100 + "b" * 100
    out = truncate(text, 60)
    assert out.startswith("a" * 40) and out.endswith("b" * 20)
    assert truncate("short", 60) == "short"
    lines = "\n".join(f"line {i:03d} " + "x" * 30 for i in range(100))   # cut at line ends, never mid-line
    cut = truncate(lines, 600)
    assert len(cut) < 700 and all(row.startswith("line ") or "omitted" in row for row in cut.splitlines())
    assert cut.splitlines()[0] == lines.splitlines()[0] and cut.splitlines()[-1] == lines.splitlines()[-1]


def test_replay_reproduces_a_recorded_investigation(tmp_path):
    policy = ScriptedPolicy([
        AssistantTurn("", [call("call_function", inputs=[0, 1])]),
        AssistantTurn("", [call("submit", description="2x+1", code=GOOD_CODE, domain=[-1, 1])]),
    ])
    AgentBackend(policy, use_sandbox=False).investigate(linear_task(), tmp_path / "rec")
    task = linear_task()
    backend = make_backend(f"replay:{tmp_path / 'rec'}", use_sandbox=False)
    for _ in range(2):  # a replay backend can run more than once
        result = backend.investigate(task, tmp_path / "replayed")
        assert result.answer.domain == (-1.0, 1.0) and result.rounds == 2
    assert task.black_box.calls == 4
    assert json.loads((tmp_path / "replayed" / "transcript.jsonl").read_text().splitlines()[-1])["accepted"]


def test_replaying_a_builtin_transcript_says_why_it_cannot(tmp_path):
    from agent.builtin.backend import BuiltinBackend

    BuiltinBackend().investigate(linear_task(), tmp_path / "builtin")
    with pytest.raises(ValueError, match="records its experiments, not assistant turns.*--backend builtin"):
        make_backend(f"replay:{tmp_path / 'builtin'}", use_sandbox=False)


def test_plot_images_are_saved_and_only_sent_to_image_policies(tmp_path):
    policy = ScriptedPolicy([AssistantTurn("", [call("plot_function", low=-5, high=5, points=11)]),
                             AssistantTurn("", [])])
    policy.accepts_images = False
    AgentBackend(policy, use_sandbox=False, budget=Budget(max_rounds=2)).investigate(linear_task(), tmp_path)
    obs = policy.seen[1][1][-1]
    assert obs.images == [] and "outputs range from -9 to 11" in obs.text
    saved = [e for e in read_transcript(tmp_path) if e["type"] == "tool_result"][0]["images"]
    assert (tmp_path / saved[0]).read_bytes().startswith(b"\x89PNG")


def test_string_tasks_get_no_numeric_tools():
    policy = ScriptedPolicy([AssistantTurn("", [call("plot_function", low=0, high=1)])])
    task = Task(id="s", kind="strings", black_box=CountingBox(str.upper))
    AgentBackend(policy, use_sandbox=False, budget=Budget(max_rounds=1)).investigate(task)
    assert "Unknown tool 'plot_function'" in policy.seen[1][1][-2].text


@pytest.mark.parametrize("native", [True, False])
def test_each_task_kind_gets_its_own_prompt(native):
    """Numeric guidance (discontinuities, noise, domain) never reaches a string task, nor the reverse."""
    seen = {}
    for kind, fn in [("numeric", lambda x: x), ("strings", str.upper)]:
        policy = ScriptedPolicy([], native_tools=native)
        AgentBackend(policy, use_sandbox=False, budget=Budget(max_rounds=1)).investigate(
            Task(id="k", kind=kind, black_box=CountingBox(fn)))
        seen[kind] = policy.seen[0][0] + "\n" + policy.seen[0][1][0].text
    assert "discontinuities" in seen["numeric"] and "noise-free" in seen["numeric"]
    for word in ("discontinuities", "plateaus", "noise", "domain", "DOMAIN"):
        assert word not in seen["strings"], word
    assert "ß" in seen["strings"] and "whitespace" in seen["strings"] and "long inputs" in seen["strings"]
    assert "exactly" in seen["strings"]


@needs_sandbox
def test_run_python_uses_the_sandbox(tmp_path):
    pytest.importorskip("agent.sandbox")
    policy = ScriptedPolicy([
        AssistantTurn("", [call("run_python", code="ys = f([1, 2, 3])\nprint(sum(ys))")]),
        AssistantTurn("", [call("run_python", code="print(ys[0])")]),
        AssistantTurn("", [call("submit", description="2x+1", code=GOOD_CODE)]),
    ])
    task = linear_task()
    AgentBackend(policy).investigate(task, tmp_path)
    assert policy.seen[1][1][-1].text.splitlines() == ["15.0", "[round 1 of 20 used; 3 black-box calls so far]"]
    assert policy.seen[2][1][-1].text.splitlines()[0] == "3.0"  # variables persist between runs
    assert task.black_box.calls == 3  # submit's check runs on inputs already observed
    end = [e for e in read_transcript(tmp_path) if e["type"] == "tool_result"][-1]
    assert end["type"] == "tool_result" and end["name"] == "submit"
    assert "Check on 3 inputs observed during the investigation: NMSE 0 on 3 inputs" in end["text"]


def test_every_observation_ends_with_rounds_and_calls():
    """A round is one reply: two calls in one reply both say round 1, and the calls add up."""
    policy = ScriptedPolicy([
        AssistantTurn("", [call("call_function", inputs=[1, 2]), call("call_function", inputs=[3])]),
        AssistantTurn("", [call("record_hypotheses", hypotheses=[{"id": "h1", "statement": "2x+1"}])]),
        AssistantTurn("", []),
    ])
    AgentBackend(policy, use_sandbox=False, budget=Budget(max_rounds=3)).investigate(linear_task())
    history = policy.seen[2][1]
    results = [e for e in history if isinstance(e, ToolResult)]
    assert [r.text.splitlines()[-1] for r in results] == [
        "[round 1 of 3 used; 2 black-box calls so far]",
        "[round 1 of 3 used; 3 black-box calls so far]",
        "[round 2 of 3 used; 3 black-box calls so far]",
    ]
    assert policy.seen[1][1] == history[: len(policy.seen[1][1])]  # earlier messages never change
    system = policy.seen[0][0]
    assert "a round is one reply of yours, whatever number of tool calls it holds" in system


@needs_sandbox
def test_check_code_through_the_loop(tmp_path):
    policy = ScriptedPolicy([
        AssistantTurn("", [call("check_code", code="def function(x):\n    return 2 * x", points=20)]),
        AssistantTurn("", [call("submit", description="2x+1", code=GOOD_CODE)]),
    ])
    task = linear_task()
    AgentBackend(policy).investigate(task, tmp_path)
    text = policy.seen[1][1][-1].text
    assert text.startswith("NMSE ") and "Worst mismatches:" in text and "code=" in text
    assert task.black_box.calls == 40 and "noisy" not in text      # each input twice: f repeats exactly


@needs_sandbox
def test_check_code_compares_a_noisy_f_by_the_mean_of_two_calls_and_states_the_floor(tmp_path):
    import random

    noise = random.Random(0)
    policy = ScriptedPolicy([
        AssistantTurn("", [call("check_code", code="def function(x):\n    return 2 * x + 1", points=200)]),
        AssistantTurn("", [call("submit", description="2x+1", code=GOOD_CODE)]),
    ])
    task = Task(id="noisy", kind="numeric", black_box=CountingBox(lambda x: 2 * x + 1 + noise.gauss(0, 40)))
    AgentBackend(policy).investigate(task, tmp_path)
    text = policy.seen[1][1][-1].text
    nmse = float(text.split()[1])
    floor = float(text.split("would score NMSE about ")[1].split()[0])
    assert "f is noisy" in text and 0.5 * floor < nmse < 2 * floor      # the right code sits at the noise floor


def test_show_prints_code_as_code_not_escaped_json(tmp_path):
    policy = ScriptedPolicy([AssistantTurn("", [call("run_python", code="x = 1\nprint(x)")]), AssistantTurn("", [])])
    AgentBackend(policy, use_sandbox=False, budget=Budget(max_rounds=2)).investigate(linear_task(), tmp_path)
    text = show_transcript(tmp_path)
    assert "-> run_python code:\nx = 1\nprint(x)" in text and '"x = 1\\nprint(x)"' not in text
