"""tools.words: whole words from WordPiece and byte-level BPE / SentencePiece pieces."""
from __future__ import annotations

import pytest

from tools.words import (
    continues,
    is_bpe,
    join_pieces,
    piece_text,
    piece_words,
    unbyte,
    word_spans,
    words_of,
)


def test_piece_text_strips_marks_and_lowercases() -> None:
    assert [piece_text(p) for p in ("##ologist", "ĠPsych", "▁the", "Ċ", "[CLS]")] == \
        ["ologist", "psych", "the", "", "[cls]"]


def test_wordpiece_groups_continuations() -> None:
    pieces = ["[CLS]", "the", "psych", "##ologist", "said", ".", "[SEP]"]
    assert not is_bpe(pieces)
    assert words_of(pieces, breaks=[True, False, False, False, False, False, True]) == [
        (0, 1, "[cls]"), (1, 2, "the"), (2, 4, "psychologist"), (4, 5, "said"), (5, 6, "."), (6, 7, "[sep]")]


def test_bpe_groups_alphanumeric_runs_after_a_word_start() -> None:
    pieces = ["The", "Ġpsych", "ologist", "Ġsaid", "Ġ199", "5", "'s", ".", "Ċ", "Next"]
    assert is_bpe(pieces)
    # A bare newline mark ('Ċ' reads as a letter) joins the word after it, which adds no text.
    assert words_of(pieces) == [(0, 1, "the"), (1, 3, "psychologist"), (3, 4, "said"), (4, 6, "1995"),
                                (6, 7, "'s"), (7, 8, "."), (8, 10, "next")]
    assert piece_words(["▁un", "believ", "able", "▁day"]) == ["unbelievable"] * 3 + ["day"]


def test_breaks_keep_special_tokens_alone() -> None:
    pieces = ["Ġriver", "<|endoftext|>", "bank"]
    assert word_spans(pieces, wordpiece=False, breaks=[False, True, False]) == [(0, 1), (1, 2), (2, 3)]
    # Without the break flag a special token ending in a non-alphanumeric never glues either.
    assert not continues("<|endoftext|>", "bank", wordpiece=False)
    assert continues("Ġpsych", "ologist", wordpiece=False)
    assert not continues("psych", "ologist", wordpiece=True)
    with pytest.raises(ValueError, match="break flags"):
        word_spans(["a", "b"], breaks=[False])


def test_byte_level_text_is_decoded_over_the_whole_word() -> None:
    assert unbyte("lÃ©") == "lé" and unbyte("plain") == "plain"
    assert unbyte("é") == "é"                       # half a character / not byte-level: kept
    # Decoded after joining: one piece alone may hold half of a character's bytes.
    assert words_of(["Ġconfeder", "aciÃ", "³n", "Ġau"]) == [(0, 3, "confederación"), (3, 4, "au")]
    assert piece_text("ĠConfederaciÃ³n") == "confederación"


def test_join_pieces_reads_a_window_with_marks():
    wordpiece = ["[CLS]", "the", "psych", "##ologist", "spoke", "[SEP]"]
    assert join_pieces(wordpiece, [1, 2, 3, 4], marked={3}) == "the psych<<ologist>> spoke"
    bpe = ["<s>", "Ġthe", "Ġpsych", "ologist", "Ġcaf", "Ã©", "Ċ", "Ġok", "Ċ", "The"]
    assert join_pieces(bpe, range(1, 10), marked={2}, mark=("[[", "]]")) == "the [[psych]]ologist café ok The"
