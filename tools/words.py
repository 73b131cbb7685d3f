"""Whole words from tokenizer pieces, shared by everything that reads tokens as words.

A unit fires on tokens, but people (and labels) name words: 'psychologist', not its pieces
'psych', '##ologist'.  Two piece conventions are in use:

- WordPiece (BERT): a piece starting with ``##`` continues the previous word; every other
  piece starts a word.
- byte-level BPE and SentencePiece (GPT-2, Llama, SmolLM): a piece starting with a space mark
  (``Ġ``, ``▁``, newline ``Ċ``, tab ``ĉ``) starts a word; a piece that starts with a letter or
  digit right after a piece ending with one continues it (``Ġpsych`` ``ologist``).

The planted neurons (find_functions/planted.py), the builtin labeler (agent/labeling/neurons.py) and
the offline simulator (evals/label_simulators.py) all group pieces with these rules, so a word
the labeler names is the word the simulator matches and the word a planted neuron computes on.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache

#: Marks that byte-level BPE / SentencePiece put at the start of a word-initial piece.
SPACE_MARKS = ("Ġ", "▁", "Ċ", "ĉ")
#: WordPiece's continuation mark.
CONTINUATION = "##"


@lru_cache(maxsize=1)
def _byte_of() -> dict[str, int]:
    """Byte-level BPE's character -> byte map (GPT-2's ``bytes_to_unicode``, inverted): printable
    Latin-1 bytes stand for themselves, the others were shifted to code points from 256 up."""
    kept = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = list(kept)
    shift = 0
    for b in range(256):
        if b not in kept:
            kept.append(b)
            chars.append(256 + shift)
            shift += 1
    return {chr(c): b for b, c in zip(kept, chars)}


def unbyte(text: str) -> str:
    """Byte-level BPE text back to what it spells ('lÃ©' -> 'lé'); text that is not valid
    byte-level UTF-8 (WordPiece or SentencePiece text, half a character) is returned as is."""
    if text.isascii():
        return text
    byte_of = _byte_of()
    if not all(c in byte_of for c in text):
        return text
    try:
        return bytes(byte_of[c] for c in text).decode("utf-8")
    except UnicodeDecodeError:
        return text


def _strip(piece: str) -> str:
    text = piece.removeprefix(CONTINUATION)
    for mark in SPACE_MARKS:
        text = text.replace(mark, "")
    return text


def piece_text(piece: str) -> str:
    """The lowercase text of one piece, its tokenizer marks removed (``##ing`` -> ``ing``)."""
    return unbyte(_strip(piece)).strip().lower()


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
    """The lowercase whole word of a span (its pieces' texts joined; byte-level BPE decoded
    over the whole word, since one character's bytes may straddle two pieces)."""
    return unbyte("".join(_strip(p) for p in pieces[span[0]:span[1]])).strip().lower()


def words_of(pieces: Sequence[str], breaks: Sequence[bool] | None = None) -> list[tuple[int, int, str]]:
    """``(start, end, word)`` for every whole word of a token sequence (convention read from it)."""
    return [(s, e, span_word(pieces, (s, e))) for s, e in word_spans(pieces, breaks=breaks)]


def piece_words(pieces: Sequence[str]) -> list[str]:
    """Each piece's whole word (``psych ##ologist`` -> ``psychologist`` twice)."""
    out = [""] * len(pieces)
    for s, e, word in words_of(pieces):
        out[s:e] = [word] * (e - s)
    return out


def join_pieces(pieces: Sequence[str], keep: Iterable[int] | None = None, marked: Collection[int] = (),
                mark: tuple[str, str] = ("<<", ">>")) -> str:
    """Readable text from pieces (those at ``keep``, default all, in order): word pieces joined,
    words spaced, byte-level BPE decoded, pieces at ``marked`` wrapped in ``mark``.  The
    convention is read from all of ``pieces``, so a window of them reads the same."""
    bpe = is_bpe(pieces)
    out = ""
    for i in range(len(pieces)) if keep is None else keep:
        piece = pieces[i]
        text = unbyte(_strip(piece))
        if i in marked:
            text = f"{mark[0]}{text}{mark[1]}"
        # a bare newline piece (text "") still separates what comes after it
        new_word = not text or (piece.startswith(SPACE_MARKS) if bpe else not piece.startswith(CONTINUATION))
        out += (" " if new_word and out and not out.endswith(" ") else "") + text
    return out.strip()
