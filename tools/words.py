"""Whole words from tokenizer pieces, shared by everything that reads tokens as words.

A unit fires on tokens, but people (and labels) name words: 'psychologist', not its pieces
'psych', '##ologist'.  Two piece conventions are in use:

- WordPiece (BERT): a piece starting with ``##`` continues the previous word; every other
  piece starts a word.
- byte-level BPE and SentencePiece (GPT-2, Llama, SmolLM): a piece starting with a space mark
  (``Ġ``, ``▁``, newline ``Ċ``, tab ``ĉ``) starts a word; a piece that starts with a letter or
  digit right after a piece ending with one continues it (``Ġpsych`` ``ologist``).

The planted neurons (find_functions/planted.py), the builtin labeler (agent/labeling.py) and
the offline simulator (evals/label_simulators.py) all group pieces with these rules, so a word
the labeler names is the word the simulator matches and the word a planted neuron computes on.
"""
from __future__ import annotations

from collections.abc import Sequence

#: Marks that byte-level BPE / SentencePiece put at the start of a word-initial piece.
SPACE_MARKS = ("Ġ", "▁", "Ċ", "ĉ")
#: WordPiece's continuation mark.
CONTINUATION = "##"


def piece_text(piece: str) -> str:
    """The lowercase text of one piece, its tokenizer marks removed (``##ing`` -> ``ing``)."""
    text = piece[len(CONTINUATION):] if piece.startswith(CONTINUATION) else piece
    for mark in SPACE_MARKS:
        text = text.replace(mark, "")
    return text.strip().lower()


def is_bpe(pieces: Sequence[str]) -> bool:
    """Whether a token sequence uses word-start marks (BPE/SentencePiece) rather than WordPiece.

    Read from the pieces themselves (exemplars carry no tokenizer): any piece starting with a
    space mark means BPE; a sequence without one is read as WordPiece, where a piece without
    ``##`` is a word of its own (the safe reading: it never glues two words together).
    """
    return any(p.startswith(SPACE_MARKS[:2]) for p in pieces)


def continues(prev: str, piece: str, wordpiece: bool) -> bool:
    """Whether ``piece`` continues the word that ``prev`` (the previous piece) belongs to."""
    if wordpiece:
        return piece.startswith(CONTINUATION)
    return bool(prev) and bool(piece) and not piece.startswith(SPACE_MARKS) \
        and piece[0].isalnum() and prev[-1].isalnum()


def word_spans(pieces: Sequence[str], wordpiece: bool | None = None,
               breaks: Sequence[bool] | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the whole words covering ``pieces`` (every piece in one span).

    ``wordpiece``: the convention (None: read it from the pieces, see ``is_bpe``).
    ``breaks[i]``: piece ``i`` stands alone whatever it looks like (special tokens).
    """
    if breaks is not None and len(breaks) != len(pieces):
        raise ValueError(f"word_spans: {len(breaks)} break flags for {len(pieces)} pieces")
    if wordpiece is None:
        wordpiece = not is_bpe(pieces)
    spans: list[tuple[int, int]] = []
    start, prev = 0, ""
    for i, piece in enumerate(pieces):
        if breaks is not None and breaks[i]:
            if start < i:
                spans.append((start, i))
            spans.append((i, i + 1))
            start, prev = i + 1, ""
            continue
        if start < i and not continues(prev, piece, wordpiece):
            spans.append((start, i))
            start = i
        prev = piece
    if start < len(pieces):
        spans.append((start, len(pieces)))
    return spans


def span_word(pieces: Sequence[str], span: tuple[int, int]) -> str:
    """The lowercase whole word of a span (its pieces' texts joined)."""
    return "".join(piece_text(p) for p in pieces[span[0]:span[1]])


def words_of(pieces: Sequence[str], breaks: Sequence[bool] | None = None) -> list[tuple[int, int, str]]:
    """``(start, end, word)`` for every whole word of a token sequence (convention read from it)."""
    return [(s, e, span_word(pieces, (s, e))) for s, e in word_spans(pieces, breaks=breaks)]


def piece_words(pieces: Sequence[str]) -> list[str]:
    """Each piece's whole word (``psych ##ologist`` -> ``psychologist`` twice)."""
    out = [""] * len(pieces)
    for s, e, word in words_of(pieces):
        out[s:e] = [word] * (e - s)
    return out
