"""The spec registry: every role resolves each of its spec forms, an unknown spec gets the role's
one error listing what it accepts, `py:` plug-ins load, and no spec is parsed anywhere else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import evals.judge  # noqa: F401 - registers the judges
import evals.label_simulators  # noqa: F401 - registers the simulators
import evals.reference_backends  # noqa: F401 - registers oracle and null
from agent import registry
from agent.backends.anthropic_backend import AnthropicPolicy
from agent.backends.openai_backend import OpenAIPolicy
from agent.backends.replay_backend import ReplayPolicy
from agent.builtin.backend import BuiltinBackend
from agent.chat.responder import BuiltinResponder
from agent.labeling.labelers import BuiltinLabeler, LLMLabeler
from agent.loop import AgentBackend
from agent.registry import UnknownSpec, accepted, check, complete, entry, is_llm, llm_forms, resolve
from agent.task import Usage
from agent.transcript import TranscriptWriter
from evals.judge import LLMJudge, OfflineJudge
from evals.label_simulators import LLMSimulator, OfflineSimulator
from evals.reference_backends import NullBackend, OracleBackend
from find_functions.layout import load_suite
from tests.backends_for_tests import SlowLinearBackend
from tests.fake_llm import FakeLLMServer, Reply

REPO = Path(__file__).resolve().parent.parent
KEY = {"api_key": "k"}
LLM = ["openai:MODEL", "anthropic:MODEL", "openai-compatible:MODEL@URL", "local:PATH|smollm2"]


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    """A transcript with one assistant turn, as the builtin scientist writes them."""
    log = TranscriptWriter(tmp_path)
    log.write("start", task_id="numeric/f0", kind="numeric", backend="builtin", max_rounds=None, seed=0)
    log.write("assistant", round=1, text="probe", tool_calls=[], usage=Usage().model_dump(), seconds=0.0)
    log.close()
    return tmp_path / "transcript.jsonl"


def test_policies_resolve_every_form(replay_file: Path) -> None:
    assert isinstance(resolve("policy", "openai:gpt-4o", **KEY), OpenAIPolicy)
    assert isinstance(resolve("policy", "anthropic:claude-haiku-4-5", **KEY), AnthropicPolicy)
    compat = resolve("policy", "openai-compatible:qwen2.5:7b@http://localhost:11434/v1")
    assert compat.model == "qwen2.5:7b" and str(compat.client.base_url).startswith("http://localhost:11434/v1")
    assert isinstance(resolve("policy", f"replay:{replay_file}"), ReplayPolicy)
    check("policy", "local:/no/such/model")  # a local model is only parsed: loading it is the first use's job
    with pytest.raises(ValueError, match="expected openai-compatible:MODEL@BASE_URL"):
        resolve("policy", "openai-compatible:no-url")
    assert llm_forms() == LLM


def test_investigators_resolve_every_form(tiny_suite: Path) -> None:
    suite = load_suite(tiny_suite)
    offered = {"suite": suite, "confine": False}  # what the bench offers every backend; each takes what it needs
    assert isinstance(resolve("investigator", "builtin", **offered), BuiltinBackend)
    assert isinstance(resolve("investigator", "oracle", **offered), OracleBackend)
    assert isinstance(resolve("investigator", "null", **offered), NullBackend)
    assert isinstance(resolve("investigator", "py:tests.backends_for_tests:SlowLinearBackend", **offered),
                      SlowLinearBackend)
    llm = resolve("investigator", "openai:gpt-4o", max_rounds=5, use_sandbox=False, **offered, **KEY)
    assert isinstance(llm, AgentBackend) and llm.name == "openai:gpt-4o" and llm.budget.max_rounds == 5
    assert isinstance(llm.policy, OpenAIPolicy)


def test_judges_simulators_labelers_responders_resolve_every_form(replay_file: Path) -> None:
    assert isinstance(resolve("judge", "offline"), OfflineJudge)
    assert isinstance(resolve("simulator", "offline"), OfflineSimulator)
    assert isinstance(resolve("labeler", "builtin"), BuiltinLabeler)
    assert isinstance(resolve("responder", "builtin"), BuiltinResponder)
    assert isinstance(resolve("labeler", f"replay:{replay_file}"), LLMLabeler)
    assert isinstance(resolve("responder", f"replay:{replay_file}"), ReplayPolicy)
    for spec in ("openai:gpt-4o-mini", "openai-compatible:small@http://localhost:1/v1"):
        assert isinstance(resolve("judge", spec, **KEY), LLMJudge)
        assert isinstance(resolve("simulator", spec, **KEY), LLMSimulator)
        assert isinstance(resolve("labeler", spec, **KEY), LLMLabeler)
        assert isinstance(resolve("responder", spec, **KEY), OpenAIPolicy)


def test_one_complete_serves_judge_and_simulator() -> None:
    with FakeLLMServer([Reply(text="2"), Reply(text="[0, 10]")]) as server:
        ask = complete("openai:gpt-4o-mini", api_key="k", base_url=server.openai_base_url, max_attempts=1)
        reply, usage = ask("be brief", "which one?")
        assert reply == "2" and usage.llm_calls == 1
        sim = resolve("simulator", "openai:gpt-4o-mini", api_key="k", base_url=server.openai_base_url, max_attempts=1)
        assert sim.simulate("fires on 'b'", [["a", "b"]]) == [[0.0, 1.0]]
    assert server.requests[0].body["messages"][0]["content"] == "be brief"


@pytest.mark.parametrize("role, own", [
    ("investigator", ["'builtin' (the builtin scientist)", "'py:MODULE:CLASS'", "'oracle'", "'null'"]),
    ("labeler", ["'builtin' (the builtin labeler)"]),
    ("responder", ["'builtin' (the builtin responder)"]),
    ("judge", ["'offline'"]),
    ("simulator", ["'offline'"]),
])
def test_an_unknown_spec_gets_its_roles_error_listing_the_accepted_forms(role: str, own: list[str]) -> None:
    noun = registry.ROLES[role].noun
    for bad in ("gpt-4o", "openai:", "builtin:x", "offline:x", "oracle:x", "py:"):
        with pytest.raises(UnknownSpec, match=f"^unknown {noun} spec {re.escape(repr(bad))}; expected ") as e:
            resolve(role, bad)
        message = str(e.value)
        assert all(form in message for form in own), message
        assert f"an LLM backend spec ({', '.join(LLM)})" in message
        assert ("'replay:FILE'" in message) == (role not in ("judge", "simulator"))


def test_specs_of_another_role_are_refused(replay_file: Path) -> None:
    for role, spec in [("judge", "builtin"), ("simulator", "builtin"), ("labeler", "offline"),
                       ("investigator", "offline"), ("responder", "oracle"), ("judge", f"replay:{replay_file}"),
                       ("simulator", f"replay:{replay_file}"), ("llm", f"replay:{replay_file}")]:
        with pytest.raises(UnknownSpec):
            resolve(role, spec)
    with pytest.raises(UnknownSpec, match="--judge auto is gone"):
        resolve("judge", "auto")
    assert entry("labeler", "builtin").title == "the builtin labeler" and entry("judge", "local:x").heavy
    assert is_llm("local:smollm2") and is_llm("anthropic:x")
    assert not is_llm("builtin") and not is_llm(f"replay:{replay_file}") and not is_llm("openai:")


def test_options_that_do_not_apply_are_named() -> None:
    with pytest.raises(ValueError, match=r"^the backend 'builtin' takes no options, got \['max_rounds'\]"):
        resolve("investigator", "builtin", max_rounds=3)
    with pytest.raises(ValueError, match=r"^the simulator 'offline' takes no options"):
        resolve("simulator", "offline", temperature=0.0)
    with pytest.raises(ValueError, match=r"^option\(s\) \['bogus'\] do not apply to 'anthropic:x'; it takes \["):
        resolve("responder", "anthropic:x", bogus=1, **KEY)


def test_py_plugins_load_and_a_bad_one_is_named() -> None:
    assert isinstance(resolve("investigator", "py:tests.backends_for_tests:SlowLinearBackend"), SlowLinearBackend)
    with pytest.raises(ValueError, match="cannot load backend 'py:nowhere:Nothing'"):
        resolve("investigator", "py:nowhere:Nothing")
    with pytest.raises(ValueError, match="cannot load backend 'py:tests.backends_for_tests:Missing'"):
        resolve("investigator", "py:tests.backends_for_tests:Missing")


def test_the_builtin_labeler_checks_its_head_labeler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agent.labeling.heads", None)
    resolve("labeler", "builtin", kinds={"neuron"})
    with pytest.raises(ValueError, match="need the head labeler"):
        resolve("labeler", "builtin", kinds={"neuron", "head"})


def test_registering_adds_a_form_to_its_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    registry.register("judge", "always:N", title="always answers N")(lambda n: ("always", int(n)))
    assert resolve("judge", "always:2") == ("always", 2)
    assert "'always:N' (always answers N)" in accepted("judge")
    with pytest.raises(UnknownSpec):
        resolve("simulator", "always:2")


def test_importing_the_registry_loads_nothing_else() -> None:
    code = ("import sys, agent.registry; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('agent', 'evals', 'tools', 'find_functions')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "['agent', 'agent.registry']"


# ----------------------------------------------------------------------------- nothing parses specs elsewhere

SPEC_PARSING = [
    re.compile(r"""startswith\(\s*["'](?:openai|anthropic|openai-compatible|local|replay|py)\b"""),
    re.compile(r"""\bLLM_(?:BACKENDS|PREFIXES)\b"""),
    re.compile(r"""\b(?:spec|backend|judge|simulator)\w*(?:\[[^\]]*\])?\.r?partition\(\s*["'][:@]["']"""),
    re.compile(r"""\b(?:spec|backend|judge|simulator)\s*\[\s*\d+\s*:"""),
    re.compile(r"""\b(?:spec|backend|judge|simulator)\s*[!=]=\s*["'](?:builtin|offline|oracle|null)["']"""),
]


def _spec_parsing(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if any(p.search(line) for p in SPEC_PARSING)]


def test_the_scan_finds_the_old_ways_of_parsing_specs() -> None:
    old = '''
    if spec.startswith("py:"):
        module_name, _, attr = spec[3:].partition(":")
    kind, _, rest = spec.partition(":")
    if not cfg.backend.startswith("local:"):
    return backend if backend.startswith(LLM_BACKENDS) else "offline"
    if cfg.backend == "builtin":
    if spec == "offline":
'''
    assert len(_spec_parsing(old)) == 7
    assert not _spec_parsing('name, _, seconds = item.partition(":")\nbackend = backend or "builtin"')


def test_no_spec_is_parsed_outside_the_registry() -> None:
    found = [f"{path.relative_to(REPO)}: {line}"
             for package in ("agent", "evals", "find_functions", "tools")
             for path in sorted((REPO / package).rglob("*.py")) if path != REPO / "agent" / "registry.py"
             for line in _spec_parsing(path.read_text(encoding="utf-8"))]
    assert not found, "spec parsing outside agent/registry.py:\n" + "\n".join(found)
