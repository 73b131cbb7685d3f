"""What of the history is sent: a view that keeps the context bounded and the cached prefix stable.

Off by default (the engine's `context=None` re-sends everything), because with prompt caching it
does not pay. Measured with `benchmarks/context_tokens.py` (a scripted numeric investigation with
plots and long printouts, OpenAI image counting): at 15 rounds the view cuts input tokens to
0.79x (trimming every turn) .. 0.92x (every 8 turns), but the uncached part grows 1.89x .. 1.31x,
because each trim changes entries the cache had already stored; at 30 rounds 0.68x .. 0.78x input
against 2.20x .. 1.45x uncached. With cached tokens billed at a tenth (Anthropic; OpenAI's newer
models) sending everything stays cheapest; with cached tokens at half price (gpt-4o) trimming
every turn saves about a quarter at 30 rounds. Turn it on (`ContextPolicy(every=N)`) for
providers without prompt caching, long investigations, or context windows that would overflow.

The engine keeps the full history (and the transcript the full observations); every policy call
is sent `sent_view(history, policy)` instead. Without it every image and every long observation
is re-sent on every later call, and an investigation's input tokens grow quadratically.

Two rules, each applied to a tool result at a fixed age and never undone:

- images: a tool result keeps its images while fewer than `keep_images` newer tool results
  carry images; after that its images are replaced by a one-line "[image omitted: ...]" note;
- long texts: a tool result longer than `long_chars` characters keeps its full text while fewer
  than `keep_full_turns` policy turns follow it; after that it is cut to its head and tail.

Why "at a fixed age" matters: provider prompt caching (OpenAI automatically, Anthropic at its
cache_control breakpoints) bills the longest unchanged prefix of a request at the cached rate.
Both ages only grow (the history is append-only), and the trimmed form is computed from the
entry alone, never from anything that changes later (no "N rounds ago", no running totals).
So each entry changes at most twice in its life, each time at the tail end of the conversation
(the newest images, the last few turns), and from its last trimming on it is byte-identical
in every later request; the same holds for a resumed chat, since the view is recomputed from the
same entries. Everything before the newest trimmed entry stays a cache hit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agent.messages import AssistantTurn, Entry, ToolResult


@dataclass(frozen=True)
class ContextPolicy:
    """How much of an old observation is re-sent (recorded in a bench run's run.json budget)."""

    keep_images: int = 2
    """Tool results with images whose images are still sent (the newest ones); older ones get a note."""
    long_chars: int = 1200
    """A tool-result text longer than this is cut to its head and tail once it is old."""
    keep_full_turns: int = 3
    """Policy turns after a tool result before it is old (its long text cut)."""
    every: int = 1
    """Trim only when the number of policy turns reaches a multiple of this: the rules are applied
    to the history as it stood at the last such turn, and everything newer is sent whole. Between
    two trims the sent history only grows at its end, so a provider's prompt cache keeps hitting;
    each trim costs one cache miss for the entries after the first one it changes."""

    def __post_init__(self) -> None:
        if self.keep_images < 0 or self.long_chars < 100 or self.keep_full_turns < 0 or self.every < 1:
            raise ValueError(f"invalid context policy {self}: keep_images and keep_full_turns >= 0, "
                             "long_chars >= 100, every >= 1")


def shorten(text: str, limit: int) -> str:
    """Head and tail of an old observation, at most about `limit` characters plus the marker."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    return (f"{text[:head]}\n[... {len(text) - limit} characters of this older observation omitted; "
            f"re-run the tool to see them ...]\n{text[-tail:]}")


def image_note(result: ToolResult) -> str:
    n = len(result.images)
    return (f"[image omitted: {n} older {result.name} image{'s' if n != 1 else ''} not re-sent; "
            "call the tool again to see it]")


def sent_view(history: list[Entry], policy: ContextPolicy | None) -> list[Entry]:
    """The history as sent: same length and order, old tool results trimmed (see the module doc).

    Entries are replaced, never mutated; `data` (read by the builtin scientist) is kept.
    `policy=None` sends the history as it is.
    """
    if policy is None:
        return history
    out: list[Entry] = list(history)
    turns = [i for i, e in enumerate(history) if isinstance(e, AssistantTurn)]
    checkpoint = len(turns) // policy.every * policy.every  # the turn count at the last trim
    if checkpoint == 0:
        return out
    # The history as it stood while the turn count was `checkpoint` (up to the next turn); newer
    # entries are sent whole.
    end = turns[checkpoint] if checkpoint < len(turns) else len(history)
    newer_images = 0  # tool results with images after the current entry
    newer_turns = 0  # policy turns after the current entry
    for i in range(end - 1, -1, -1):
        e = history[i]
        if isinstance(e, AssistantTurn):
            newer_turns += 1
        elif isinstance(e, ToolResult):
            text, images = e.text, e.images
            if newer_turns >= policy.keep_full_turns and len(text) > policy.long_chars:
                text = shorten(text, policy.long_chars)
            if images and newer_images >= policy.keep_images:
                text, images = f"{text}\n{image_note(e)}", []
            if e.images:
                newer_images += 1
            if text is not e.text or images is not e.images:
                out[i] = replace(e, text=text, images=images)
    return out
