"""`aia chat`: a terminal conversation about a model's units.

A line starting with '/' is a slash command (a direct tool call, agent.chat.commands);
anything else is a question for the agent (an LLM backend, or the builtin responder). Work
runs in a worker thread so the terminal stays responsive: Ctrl-C sets the tool context's
interrupt flag, the running tool stops at its next check (between batches, between the
labeler's experiments, at each step of an exemplar cache build) and the prompt returns. A
tool stuck inside one long step is left to finish in the background after GRACE_SECONDS;
the next request waits for it. Every event is appended to the session transcript as it
happens (agent.chat.session), so `--resume` continues where a session stopped, even a
killed one.

Test hook: AIA_CHAT_TEST_DELAY="TOOL:SECONDS[,TOOL:SECONDS]" makes those tools wait that
long (checking the interrupt flag) before running, so tests can interrupt a tool at a
known moment. It is for tests only; nothing else reads it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from rich.console import Console
from rich.markdown import Markdown
from rich.text import Text

from agent.backends.base import MissingCredentials
from agent.chat.commands import CommandError, help_text, parse_command
from agent.chat.session import (
    Session,
    SessionError,
    command_note,
    last_round,
    new_session_dir,
    rebuild_history,
    rebuild_ledger,
)
from agent.engine import Engine, ToolInterrupted, truncate
from agent.ledger import changed_lines
from agent.model_tools import ModelToolContext, model_tool_registry
from agent.registry import resolve
from agent.tools_registry import Tool, ToolOutput, ToolRegistry
from prompts import render
from tools import DEFAULT_MAX_WINDOWS
from tools.models import SubjectModel

#: After Ctrl-C, how long the prompt waits for the tool to reach its next interrupt check.
GRACE_SECONDS = 3.0
#: Lines of one tool result shown on screen (the transcript and the agent get it whole).
SCREEN_LINES = 40
#: Characters of a folded tool output or a tool call's arguments on screen.
FOLD_CHARS = 160
TEST_DELAY_VARIABLE = "AIA_CHAT_TEST_DELAY"


class ChatError(ValueError):
    """The chat cannot start (bad model, backend or session); the message says why."""


def make_chat_policy(backend: str) -> Any:
    """The responder `backend` names (agent.registry): the builtin responder or an LLM's policy."""
    try:
        return resolve("responder", backend)
    except (ValueError, MissingCredentials) as e:
        raise ChatError(str(e)) from None


def _test_delays() -> dict[str, float]:
    spec = os.environ.get(TEST_DELAY_VARIABLE, "").strip()
    delays = {}
    for item in filter(None, (s.strip() for s in spec.split(","))):
        name, _, seconds = item.partition(":")
        try:
            delays[name] = float(seconds)
        except ValueError:
            raise ChatError(f"{TEST_DELAY_VARIABLE}: expected TOOL:SECONDS, got {item!r}") from None
    return delays


def _delayed(t: Tool, seconds: float) -> Tool:
    def func(ctx: ModelToolContext, **arguments: Any) -> ToolOutput:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ctx.check_interrupt()
            time.sleep(0.05)
        return t.func(ctx, **arguments)

    return dataclasses.replace(t, func=func)


def chat_tools(model: SubjectModel) -> ToolRegistry:
    """The chat's tools that work on `model` (with the test delays applied)."""
    tools = model_tool_registry("chat", model)
    delays = _test_delays()
    return ToolRegistry(_delayed(t, delays[t.name]) if t.name in delays else t for t in tools)


class ChatApp:
    """One chat: the conversation, the tool context, the session, and the screen."""

    def __init__(self, session: Session, ctx: ModelToolContext, policy: Any, console: Console, max_rounds: int = 20):
        self.session = session
        self.ctx = ctx
        self.console = console
        self.busy = threading.Lock()
        #: True from a line's entry until the next prompt; Ctrl-C presses during that time.
        self.working = False
        self.interrupts = 0
        tools = chat_tools(ctx.model)
        events = list(session.events)
        ctx.ledger = rebuild_ledger(events)
        #: The hypotheses as last printed: the screen shows a hypothesis again only when it changes.
        self.shown_ledger: dict[str, tuple[str, str]] = {}
        changed_lines(self.shown_ledger, ctx.ledger.model_dump()["hypotheses"])
        #: The last tool output the agent got (name, text, images), for /more.
        self.last_output: tuple[str, str, list[str]] | None = None
        #: What the spinner says is happening ("thinking", "running exemplars").
        self.phase = "thinking"
        ctx.progress = lambda line: console.print(Text(f"   … {line}", style="dim"))
        system = render("chat_system", model=ctx.model, tools=tools.docs(), text_protocol=not policy.native_tools)
        self.max_rounds = max_rounds
        self.conv = Engine(policy, tools, ctx, system=system, transcript=session.transcript, on_event=self.show,
                           history=rebuild_history(events, session.path), rounds=last_round(events))

    # ------------------------------------------------------------------ screen

    def show(self, event: dict[str, Any]) -> None:
        """Print one conversation event as it happens. Tool outputs are folded to one line each
        (the transcript and the agent get them whole; /more prints the last one), the ledger
        shows only what changed, and answers render as markdown."""
        kind, say = event["type"], self.console.print
        if kind == "tool_call":
            self.phase = f"running {event['name']}"
            args = ", ".join(f"{k}={v!r}" for k, v in event["arguments"].items())
            say(Text(f" → {event['name']}({_one_line(args, FOLD_CHARS)})", style="cyan"))
        elif kind == "tool_result":
            self.phase = "thinking"
            self.last_output = (event["name"], event["text"], event["images"])
            style = "red" if event["is_error"] else "green"
            say(Text.assemble((f" ← {event['name']} ({event['seconds']:.1f}s) ", style),
                              (_fold(event["text"]), "red" if event["is_error"] else "")))
            for image in event["images"]:
                say(Text(f"   [image: {self.session.path / image}]", style="dim"))
        elif kind == "assistant" and event["text"].strip():
            if event["tool_calls"]:
                say(Text("  " + event["text"].strip(), style="dim italic"))
            else:
                say(Markdown("**agent:** " + event["text"].strip()))
        elif kind == "hypotheses":
            changes = changed_lines(self.shown_ledger, event["ledger"])
            if changes:
                say(Text("ledger:\n" + "\n".join(f"   {line}" for line in changes), style="magenta"))
        elif kind == "final_request":
            say(Text("(round cap reached: asking for the answer)", style="dim"))

    def show_last_output(self) -> None:
        """/more: the last tool output the agent got, whole (up to SCREEN_LINES lines on screen)."""
        if self.last_output is None:
            self.console.print(Text("no tool output yet in this chat", style="dim"))
            return
        name, text, images = self.last_output
        self.console.print(Text(f" ← {name}", style="green"))
        self.console.print(Text(_clip(text)))
        for image in images:
            self.console.print(Text(f"   [image: {self.session.path / image}]", style="dim"))

    def replay(self) -> None:
        """Show the turns of a resumed session: questions, commands and answers."""
        turns = 0
        for e in self.session.events:
            if e["type"] == "user":
                turns += 1
                self.console.print(Text(f"you: {e['text']}", style="dim"))
            elif e["type"] == "command":
                turns += 1
                self.console.print(Text(f"you: {e['text']}\n{_clip(e['output'], 8)}", style="dim"))
            elif e["type"] == "assistant" and not e["tool_calls"] and e["text"].strip():
                self.console.print(Text(f"agent: {e['text'].strip()}", style="dim"))
            elif e["type"] == "interrupted":
                self.console.print(Text(f"(interrupted: {e['tool'] or 'the model turn'})", style="dim"))
        self.console.print(Text(f"resumed {self.session.path}: {turns} earlier turn(s)", style="bold"))

    # ------------------------------------------------------------------ work

    def on_sigint(self, signum: int, frame: Any) -> None:
        """Ctrl-C: at the prompt it raises KeyboardInterrupt (input() is abandoned); while work
        runs it only counts and sets the interrupt flag, so no KeyboardInterrupt can land in
        the middle of the chat's own bookkeeping."""
        if not self.working:
            raise KeyboardInterrupt
        self.interrupts += 1
        self.ctx.interrupt.set()

    def run_work(self, work: Callable[[], Any]) -> tuple[str, Any]:
        """Run `work` in a worker thread; returns ("done", value), ("interrupted", None),
        ("error", exception) or ("abandoned", None). Ctrl-C interrupts it (see on_sigint)."""
        self.interrupts = 0
        if not self.busy.acquire(blocking=False):
            self.console.print(Text("waiting for the interrupted tool to finish its current step...", style="dim"))
            while not self.busy.acquire(timeout=0.1):
                if self.interrupts:
                    return "abandoned", None
        # Cleared here, before the worker starts, so that a Ctrl-C from now on is never lost.
        self.ctx.interrupt.clear()
        self.interrupts = 0
        box: dict[str, Any] = {}
        # An Event, not Thread.join: a join interrupted by Ctrl-C can leave is_alive() wrong.
        finished = threading.Event()

        def target() -> None:
            try:
                box["done"] = work()
            except ToolInterrupted:
                box["interrupted"] = None
            except Exception as e:  # noqa: BLE001 - reported on screen; the chat goes on
                box["error"] = e
            finally:
                self.busy.release()
                finished.set()

        threading.Thread(target=target, name="aia-chat-work", daemon=True).start()
        started = time.monotonic()
        # A spinner with the elapsed time, so a slow model does not look hung (terminals only;
        # rich prints the events above it).
        spinner = self.console.status("", spinner="dots") if self.console.is_terminal else None
        with spinner or contextlib.nullcontext():
            self._wait(finished, spinner, started)
        if not finished.is_set():
            self.console.print(Text("the tool is still inside one step; it will stop there and its result is "
                                    "discarded", style="yellow"))
            return "abandoned", None
        return next(iter(box.items()))

    def _wait(self, finished: threading.Event, spinner: Any, started: float) -> None:
        """Wait for the work to finish, a second Ctrl-C, or the grace after the first one."""
        interrupted_at = None
        while not finished.wait(0.1):
            if spinner is not None:
                spinner.update(Text(f"{self.phase} … {time.monotonic() - started:.0f}s", style="dim"))
            if self.interrupts and interrupted_at is None:
                interrupted_at = time.monotonic()
                self.console.print(Text("^C interrupting the running tool...", style="yellow"))
            if self.interrupts > 1:
                break                         # a second Ctrl-C: back to the prompt now
            if interrupted_at is not None and time.monotonic() - interrupted_at > GRACE_SECONDS:
                break

    def ask(self, question: str) -> None:
        """A question for the agent; the conversation writes its own events (interruptions too)."""
        self.phase = "thinking"
        status, value = self.run_work(lambda: self.conv.run(question, max_rounds=self.max_rounds).text)
        if status == "interrupted":
            self.console.print(Text("interrupted.", style="yellow"))
        elif status == "error":   # e.g. the LLM API refused the request: said, logged, the chat goes on
            self.console.print(Text(f"error: {type(value).__name__}: {value}", style="bold red"))
            self.session.transcript.write("error", error=f"{type(value).__name__}: {value}")

    def command(self, line: str) -> bool:
        """Run a slash command; False when the chat should end."""
        try:
            cmd = parse_command(line, call_id=f"cmd{len(self.session.events)}")
        except CommandError as e:     # logged too: the session file is the whole conversation
            self.console.print(Text(str(e), style="red"))
            self.session.transcript.write("command", text=line, output=str(e), is_error=True, images=[], seconds=0.0)
            return True
        if cmd.name == "help":
            self.console.print(Text(help_text()))
            return True
        if cmd.name == "save":
            path = self.session.save(backend=self.conv.policy.name)
            self.console.print(Text(f"session saved: {path}\nresume with: aia chat --resume {path}"))
            return True
        if cmd.name == "exit":
            return False
        if cmd.name == "more":
            self.show_last_output()
            return True
        args = ", ".join(f"{k}={v!r}" for k, v in cmd.call.arguments.items())
        self.console.print(Text(f" → {cmd.call.name}({args})", style="dim cyan"))
        started = time.monotonic()
        self.phase = f"running {cmd.call.name}"
        ledger = self.ctx.ledger.model_dump()
        # ToolRegistry.execute turns every failure into an error observation, so a command ends
        # "done", "interrupted" or (a second Ctrl-C, or a step outlasting the grace) "abandoned".
        status, value = self.run_work(lambda: self.conv.tools.execute(self.ctx, cmd.call))
        if status in ("interrupted", "abandoned"):
            self.session.transcript.write("interrupted", tool=cmd.call.name, command=cmd.text)
            if status == "interrupted":
                self.console.print(Text("interrupted.", style="yellow"))
        else:
            out: ToolOutput = value
            self.console.print(Text(_clip(out.text), style="red" if out.is_error else ""))
            text = truncate(out.text, self.conv.observation_chars)
            images = self.session.transcript.save_images(out.images)
            for image in images:
                self.console.print(Text(f"   [image: {self.session.path / image}]", style="dim"))
            self.session.transcript.write("command", text=cmd.text, output=text, is_error=out.is_error,
                                          images=images, seconds=round(time.monotonic() - started, 3))
            self.conv.note(command_note(cmd.text, text))
        if status != "abandoned":
            self.conv.record_ledger_change(ledger)       # /describe records the labeler's hypotheses
        return True

    def loop(self, read: Callable[[str], str] = input) -> None:
        """Read lines until /exit or end of input; Ctrl-C at the prompt does not leave."""
        previous = signal.signal(signal.SIGINT, self.on_sigint)
        try:
            while True:
                try:
                    self.working = False
                    line = read("you> ").strip()
                    self.working = True
                except EOFError:
                    self.console.print()
                    break
                except KeyboardInterrupt:
                    self.console.print(Text("\n(Ctrl-C stops a running tool; /exit or Ctrl-D leaves)", style="dim"))
                    continue
                if not line:
                    continue
                if line.startswith("/"):
                    if not self.command(line):
                        break
                else:
                    self.ask(line)
        finally:
            signal.signal(signal.SIGINT, previous)
        if not self.busy.acquire(timeout=GRACE_SECONDS):
            self.console.print(Text("leaving while an interrupted tool is still stopping", style="yellow"))
        path = self.session.save(backend=self.conv.policy.name)
        self.console.print(Text(f"session saved: {path}\nresume with: aia chat --resume {path}"))


def _one_line(text: str, chars: int) -> str:
    """`text` on one line, cut to `chars` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[:chars - 1] + "…"


def _fold(text: str) -> str:
    """A tool output as one line: its first line, and how much more /more would show."""
    rows = [r for r in text.splitlines() if r.strip()]
    if not rows:
        return "(no output)"
    first = _one_line(rows[0], FOLD_CHARS)
    more = len(rows) - 1
    return first + (f"  [+{more} line{'s' if more > 1 else ''}: /more]" if more else
                    "  [/more]" if first != rows[0].strip() else "")


def _clip(text: str, lines: int = SCREEN_LINES) -> str:
    rows = text.splitlines()
    if len(rows) <= lines:
        return text
    return "\n".join(rows[:lines] + [f"... [{len(rows) - lines} more lines in the transcript]"])


def run_chat(model: str | None, backend: str | None, resume: str | None = None, session_dir: Path | None = None,
             corpus: str = "default", max_windows: int | None = DEFAULT_MAX_WINDOWS, max_rounds: int = 20,
             console: Console | None = None) -> Path:
    """Open (or resume) a session, load the model, and talk until /exit; returns the session path."""
    from tools.models import load_model

    console = console or Console(highlight=False)
    # nnsight warns once per BERT block that its `output` submodule is renamed, and transformers
    # that corpus documents are longer than the model's context (they are cut into windows
    # later): noise on a chat screen.
    warnings.filterwarnings("ignore", message=r"Module '.*' has a submodule named 'output'")
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    session: Session | None = None
    try:
        if resume is not None:
            if session_dir is not None:
                raise ChatError("--session-dir names a new session; --resume continues an existing one: give one")
            session = Session.resume(resume)
            if model is not None and model != session.meta["model"]:
                raise ChatError(f"session {session.path} studies {session.meta['model']!r}, not {model!r}")
            model = session.meta["model"]
            backend = backend or session.meta.get("backend", "builtin")
        else:
            if model is None:
                raise ChatError("--model is required for a new session (or --resume SESSION)")
            backend = backend or "builtin"
        from tools.corpus import check_corpus

        try:
            check_corpus(corpus)
        except (ValueError, FileNotFoundError) as e:
            raise ChatError(str(e)) from None
        policy = make_chat_policy(backend)
        console.print(Text(f"loading {model} ...", style="dim"))
        try:
            subject = load_model(model)
        except (ValueError, OSError, ModuleNotFoundError) as e:
            raise ChatError(f"cannot load model {model!r}: {e}") from None
        except KeyboardInterrupt:
            raise ChatError("interrupted while loading the model") from None
        if session is None:
            session = Session.create(session_dir or new_session_dir(model), model, backend)
    except BaseException as e:
        if session is not None:
            session.close()   # its lock too: a failed start leaves the session free to resume
        if isinstance(e, SessionError):
            raise ChatError(str(e)) from None
        raise
    session.save(backend=backend)
    ctx = ModelToolContext(subject, corpus=corpus, max_windows=max_windows)
    app = ChatApp(session, ctx, policy, console, max_rounds=max_rounds)
    try:
        import readline  # noqa: F401 - line editing and history for input()
    except ImportError:
        pass
    if resume is not None:
        app.replay()
    console.print(Text(f"aia chat: {subject.name} ({subject.n_layers} layers), backend {policy.name}, "
                       f"session {session.path}", style="bold"))
    console.print(Text(render("chat_welcome")))
    try:
        app.loop()
    finally:
        session.close()
    return session.path
