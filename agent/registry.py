"""The spec registry: every spec string (`openai:gpt-4o`, `builtin`, `offline`, `py:pkg.mod:Class`)
resolves here, for the role that takes it.

Specs used to be parsed in seven places, each with its own prefix list and its own error. Now
whatever can fill a role is registered once, by decorator (after Inspect AI's `@modelapi` and
`@scorer`), and `resolve(role, spec, **options)` is the one parser:

    backend = resolve("investigator", "openai:gpt-4o", max_rounds=20)
    judge = resolve("judge", "offline")
    ask = complete("anthropic:claude-haiku-4-5")   # (system, prompt) -> (reply, usage)

Roles (`ROLES`): `policy` (what decides an LLM's next turn), `llm` (a language model as a text
function, `complete`), `investigator` (a bench backend), `judge`, `simulator`, `labeler` and
`responder` (the chat's). Besides its own entries, a role may take every policy spec through one
adapter (`via_policy`): `openai:MODEL` is an agent backend to `investigator` and an LLM judge to
`judge`. Judges, simulators and `llm` take only the language models among the policies
(`llm_forms()`), not replays.

`builtin` names a different thing in each role that has one (the builtin scientist, labeler,
responder); errors and listings say which. The spec itself stays `builtin` in every record, so
old run directories resume.

Layering: agent/ does not import evals/, so evals registers its entries (the oracle and null
backends, the offline judge and simulator, the LLM judge and simulator adapters) in its own
modules with these decorators, and the evals modules that resolve those roles import them. The
factories below import what they build when called, so importing this module costs nothing.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Collection, TypeVar

if TYPE_CHECKING:
    from agent.backends.base import Policy
    from agent.labeling.labelers import Labeler
    from agent.task import Backend, Usage

F = TypeVar("F", bound=Callable[..., Any])

#: A language model as a text function: (system, prompt) -> (reply, usage).
Complete = Callable[[str, str], "tuple[str, Usage]"]


class UnknownSpec(ValueError):
    """No entry of the role takes the spec; the message lists the forms the role accepts."""


@dataclass(frozen=True)
class Role:
    name: str
    #: How errors name a spec of this role ("unknown judge spec 'x'").
    noun: str
    #: Keywords a role's callers offer every entry; an entry gets those its factory declares.
    context: tuple[str, ...] = ()


ROLES = {r.name: r for r in (
    Role("policy", "policy"),
    Role("llm", "LLM"),
    Role("investigator", "backend", context=("suite", "confine")),
    Role("judge", "judge"),
    Role("simulator", "simulator"),
    Role("labeler", "labeling backend", context=("kinds",)),
    Role("responder", "chat backend"),
)}


@dataclass(frozen=True)
class Entry:
    role: str
    #: As users write it: `builtin`, or `openai:MODEL` (a colon: the spec carries an argument).
    form: str
    factory: Callable[..., Any]
    #: Said beside the form where its name alone is ambiguous (`builtin`).
    title: str = ""
    #: A policy that is a language model (what judges, simulators and `complete` take).
    llm: bool = False
    #: Building it loads a model: `check` parses the spec and leaves the errors to first use.
    heavy: bool = False
    #: Writes no code that aia must confine (the builtin scientist, the oracle, the null
    #: backend): a run of it over aia's own suite is honest without an OS sandbox.
    writes_no_code: bool = False

    @property
    def name(self) -> str:
        return self.form.partition(":")[0]

    @property
    def takes_argument(self) -> bool:
        return ":" in self.form


@dataclass(frozen=True)
class Adapter:
    """How a role takes policy specs: `factory(spec, **options)` builds the role's object."""

    factory: Callable[..., Any]
    llm_only: bool


_ENTRIES: dict[tuple[str, str], Entry] = {}
_ADAPTERS: dict[str, Adapter] = {}
_RETIRED: dict[tuple[str, str], str] = {}


def _role(name: str) -> Role:
    if name not in ROLES:
        raise ValueError(f"no role {name!r}; roles: {', '.join(ROLES)}")
    return ROLES[name]


def register(role: str, form: str, *, title: str = "", llm: bool = False, heavy: bool = False,
             writes_no_code: bool = False) -> Callable[[F], F]:
    """Register the decorated factory (a function or a class) as what `form` names in `role`.

    It is called with the spec's argument (`MODEL` of `openai:MODEL`) when the form has one,
    then the options; a later registration of the same name replaces an earlier one."""
    _role(role)

    def decorate(factory: F) -> F:
        entry = Entry(role, form, factory, title, llm, heavy, writes_no_code)
        _ENTRIES[role, entry.name] = entry
        return factory

    return decorate


def via_policy(role: str, *, llm_only: bool = False) -> Callable[[F], F]:
    """Register the decorated `factory(spec, **options)` as how `role` takes policy specs
    (only the language models among them when `llm_only`)."""
    _role(role)

    def decorate(factory: F) -> F:
        _ADAPTERS[role] = Adapter(factory, llm_only)
        return factory

    return decorate


def retire(role: str, spec: str, why: str) -> None:
    """Make `spec` fail in `role` with `why`: a spec that once worked must not quietly mean another thing."""
    _role(role)
    _RETIRED[role, spec] = why


def _find(role: str, spec: str) -> tuple[Entry, Adapter | None]:
    """The entry `spec` names in `role`; for a policy spec taken through the role's adapter,
    the policy's entry and the adapter."""
    if (role, spec) in _RETIRED:
        raise UnknownSpec(_RETIRED[role, spec])
    name, colon, argument = spec.partition(":")
    own = _ENTRIES.get((role, name))
    if own is not None and (bool(argument) if own.takes_argument else not colon):
        return own, None
    adapter = _ADAPTERS.get(role)
    policy = _ENTRIES.get(("policy", name))
    if adapter is not None and policy is not None and argument and (policy.llm or not adapter.llm_only):
        return policy, adapter
    raise UnknownSpec(f"unknown {_role(role).noun} spec {spec!r}; expected {accepted(role)}{_did_you_mean(role, spec)}")


def _did_you_mean(role: str, spec: str) -> str:
    """"; did you mean 'oracle'?" for a spec close to a form `role` takes (a typo), else ""."""
    import difflib

    forms = [e.form for e in _ENTRIES.values() if e.role == role]
    adapter = _ADAPTERS.get(role)
    if adapter is not None:
        forms += [e.form for e in _ENTRIES.values() if e.role == "policy" and (e.llm or not adapter.llm_only)]
    by_name = {f.partition(":")[0]: f for f in forms}
    name = spec.partition(":")[0]
    close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.7)
    if not close:
        return ""
    return f"; did you mean {by_name[close[0]]!r}?"


class _Inapplicable(Exception):
    """Options a factory does not take; `resolve` words the error with the spec."""

    def __init__(self, unknown: list[str], takes: list[str]) -> None:
        self.unknown, self.takes = unknown, takes


def _declared(factory: Callable[..., Any]) -> tuple[list[str], bool]:
    """The keyword parameters `factory` names, and whether it takes any (**options)."""
    params = inspect.signature(factory).parameters.values()
    named = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return named, any(p.kind == p.VAR_KEYWORD for p in params)


def _build(factory: Callable[..., Any], *args: Any, **options: Any) -> Any:
    """`factory(*args, **options)`, refusing by name the options it does not take (a typo in
    an option must not be silently dropped)."""
    named, open_ended = _declared(factory)
    takes = named[len(args):]
    unknown = sorted(k for k in options if k not in takes)
    if unknown and not open_ended:
        raise _Inapplicable(unknown, takes)
    return factory(*args, **options)


def resolve(role: str, spec: str, **options: Any) -> Any:
    """What `spec` names in `role`, built with `options`.

    Raises UnknownSpec (a ValueError listing the role's forms) for a spec the role does not
    take, ValueError for options that do not apply, and whatever building raises (e.g.
    MissingCredentials for an unset API key)."""
    found, adapter = _find(role, spec)
    factory = adapter.factory if adapter else found.factory
    args = [spec] if adapter else [spec.partition(":")[2]] if found.takes_argument else []
    named, _ = _declared(factory)
    options = {k: v for k, v in options.items() if k not in _role(role).context or k in named}
    try:
        return _build(factory, *args, **options)
    except _Inapplicable as e:
        if not e.takes:
            raise ValueError(f"the {_role(role).noun} {spec!r} takes no options, got {e.unknown}") from None
        raise ValueError(f"option(s) {e.unknown} do not apply to {spec!r}; it takes {e.takes}") from None


def entry(role: str, spec: str) -> Entry:
    """The entry `spec` names in `role` (for a policy spec, the policy's), nothing built: for a
    caller that branches on which one it is (`entry("labeler", spec).name == "builtin"`)
    without parsing the spec itself. UnknownSpec when the role does not take it."""
    return _find(role, spec)[0]


def argument(role: str, spec: str) -> str:
    """What a spec names besides its form (`gpt-4o` of `openai:gpt-4o`, `smollm2` of
    `local:smollm2`); "" for a form without one. UnknownSpec when `role` does not take `spec`."""
    return spec.partition(":")[2] if _find(role, spec)[0].takes_argument else ""


def check(role: str, spec: str, **options: Any) -> None:
    """Fail now, before any work, on a spec that cannot work: unknown, options that do not
    apply, a missing API key. A spec whose building loads a model (`local:`) is only parsed."""
    if not entry(role, spec).heavy:
        resolve(role, spec, **options)


def accepted(role: str) -> str:
    """The forms `role` takes, as errors and help list them."""
    items = [f"'{e.form}'" + (f" ({e.title})" if e.title else "") for e in _ENTRIES.values() if e.role == role]
    adapter = _ADAPTERS.get(role)
    if adapter is not None:
        items.append(f"an LLM backend spec ({', '.join(llm_forms())})")
        if not adapter.llm_only:
            items += [f"'{e.form}'" for e in _ENTRIES.values() if e.role == "policy" and not e.llm]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def llm_forms() -> list[str]:
    """The language-model specs, e.g. `openai:MODEL`: the one list of them."""
    return [e.form for e in _ENTRIES.values() if e.role == "policy" and e.llm]


def is_llm(spec: str) -> bool:
    """Whether `spec` names a language model."""
    try:
        _find("llm", spec)
    except UnknownSpec:
        return False
    return True


def complete(spec: str, **options: Any) -> Complete:
    """The language model `spec` names, as a text function without tools: what the LLM judge
    and the LLM simulator ask. `options` go to the policy (api_key, base_url, ...)."""
    return resolve("llm", spec, **options)


def make_policy(spec: str, **options: Any) -> "Policy":
    """The policy `spec` names (what decides an LLM loop's next turn)."""
    return resolve("policy", spec, **options)


def make_backend(spec: str, **options: Any) -> "Backend":
    """The bench backend `spec` names (`accepted("investigator")` lists the forms)."""
    return resolve("investigator", spec, **options)


# ----------------------------------------------------------------------------- policies

def _policy(cls: type, *args: Any, **options: Any) -> "Policy":
    """`cls(*args, **options)`, with `prices=PATH` read into a price table first."""
    from agent.backends.pricing import PriceTable

    if "prices" in options and not isinstance(options["prices"], PriceTable):
        options["prices"] = PriceTable.load(options["prices"])
    return _build(cls, *args, **options)


@register("policy", "openai:MODEL", llm=True)
def _openai(model: str, **options: Any) -> "Policy":
    """OpenAI's API: native tools, images (OPENAI_API_KEY, OPENAI_BASE_URL)."""
    from agent.backends.openai_backend import OpenAIPolicy

    return _policy(OpenAIPolicy, model, **options)


@register("policy", "anthropic:MODEL", llm=True)
def _anthropic(model: str, **options: Any) -> "Policy":
    """Anthropic's API: native tools, images (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL)."""
    from agent.backends.anthropic_backend import AnthropicPolicy

    return _policy(AnthropicPolicy, model, **options)


@register("policy", "openai-compatible:MODEL@URL", llm=True)
def _openai_compatible(target: str, **options: Any) -> "Policy":
    """vLLM, Ollama, a llama.cpp server ...: key optional; the text protocol with native_tools=False."""
    from agent.backends.openai_backend import OpenAIPolicy

    model, at, url = target.rpartition("@")
    if not (at and model and url):
        raise ValueError(f"bad spec 'openai-compatible:{target}': expected openai-compatible:MODEL@BASE_URL, "
                         "e.g. openai-compatible:llama3@http://localhost:8000/v1")
    return _policy(OpenAIPolicy, model, base_url=url, compatible=True, **options)


@register("policy", "local:PATH|smollm2", llm=True, heavy=True)
def _local(path: str, **options: Any) -> "Policy":
    """A chat model in-process with transformers, text protocol."""
    from agent.backends.local_backend import LocalPolicy

    return _policy(LocalPolicy, path, **options)


@register("policy", "replay:FILE")
def _replay(path: str, **options: Any) -> "Policy":
    """Replays a transcript.jsonl (or the run directory holding it)."""
    from agent.backends.replay_backend import ReplayPolicy

    return _policy(ReplayPolicy, path, **options)


@via_policy("llm", llm_only=True)
def _text_function(spec: str, **options: Any) -> Complete:
    from agent.messages import UserMessage
    from agent.tools_registry import ToolRegistry

    policy = make_policy(spec, **options)
    no_tools = ToolRegistry([])

    def ask(system: str, prompt: str) -> "tuple[str, Usage]":
        turn = policy.next_turn(system, [UserMessage(text=prompt)], no_tools)
        return turn.text, turn.usage

    return ask


# ----------------------------------------------------------------------------- investigators

_BUDGET_OPTIONS = ("max_rounds", "max_tokens", "max_usd")
_LOOP_OPTIONS = ("tools", "sandbox_factory", "use_sandbox", "observation_chars", "max_batch")


@via_policy("investigator")
def _agent_backend(spec: str, *, confine: bool = True, **options: Any) -> "Backend":
    """An LLM loop. Options: max_rounds, max_tokens, max_usd (budgets); tools, sandbox_factory,
    use_sandbox (False: no run_python), confine (False: run_python without the OS sandbox, an
    explicit opt-out), observation_chars, max_batch; the rest go to the policy (api_key,
    base_url, client, prices=PATH, timeout, max_output_tokens, temperature, max_attempts,
    max_wait, native_tools, accepts_images; local models: max_new_tokens, context_tokens, seed)."""
    from agent.engine import Budget
    from agent.loop import AgentBackend

    budget = Budget(**{k: options.pop(k) for k in _BUDGET_OPTIONS if k in options})
    loop = {k: options.pop(k) for k in _LOOP_OPTIONS if k in options}
    policy: Any = make_policy(spec, **options)  # remote policies carry `model` and `prices`
    if budget.max_usd is not None:
        prices = getattr(policy, "prices", None)
        if prices is not None and prices.lookup(policy.model) is None:
            raise ValueError(f"max_usd needs a price for {policy.model!r}: add it to a prices JSON file "
                             "(prices=PATH or AIA_PRICES)")
    return AgentBackend(policy, name=spec, budget=budget, confine=confine, **loop)


@register("investigator", "builtin", title="the builtin scientist", writes_no_code=True)
def _builtin_scientist() -> "Backend":
    """Not a language model: a deterministic investigation plan per task kind, offline."""
    from agent.builtin.backend import BuiltinBackend

    return BuiltinBackend()


@register("investigator", "py:MODULE:CLASS", title="your own backend class, built without arguments")
def _plugin(target: str) -> "Backend":
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)()
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load backend 'py:{target}': {e}") from e


# ----------------------------------------------------------------------------- labelers and responders

@register("labeler", "builtin", title="the builtin labeler")
def _builtin_labeler(kinds: Collection[str] = ()) -> "Labeler":
    from agent.labeling.labelers import BuiltinLabeler

    return BuiltinLabeler(kinds)


@via_policy("labeler")
def _llm_labeler(spec: str, **options: Any) -> "Labeler":
    """An LLM investigating with the model tools; a fresh policy per unit."""
    from agent.labeling.labelers import LLMLabeler

    check("policy", spec, **options)
    return LLMLabeler(spec, lambda: make_policy(spec, **options))


@register("responder", "builtin", title="the builtin responder")
def _builtin_responder() -> "Policy":
    from agent.chat.responder import BuiltinResponder

    return BuiltinResponder()


@via_policy("responder")
def _policy_responder(spec: str, **options: Any) -> "Policy":
    return make_policy(spec, **options)
