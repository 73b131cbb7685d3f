"""The toy model's vocabulary, tokenizer and training/probe sequences.

Words are ``t0 .. t{V-1}`` so texts stay readable ("t12 t5 t33 ... t12 t5").  Tokens are
drawn uniformly, so nothing in a sequence is predictable except a span seen before: the
next-token loss can only drop below log(V) by copying, which is what forces
previous-token and induction heads to form.
"""
from __future__ import annotations

from pathlib import Path

import torch

N_WORDS = 128
SPECIALS = ("<pad>", "<bos>", "<unk>")
PAD_ID, BOS_ID, UNK_ID = 0, 1, 2


def words(n_words: int = N_WORDS) -> list[str]:
    return [f"t{i}" for i in range(n_words)]


def build_tokenizer(n_words: int = N_WORDS):
    """A word-level fast tokenizer that prepends ``<bos>`` (the attention sink heads use
    when they have nothing to attend to), saved with the model like any HF tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(list(SPECIALS) + words(n_words))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A $B",
                                                       special_tokens=[("<bos>", BOS_ID)])
    tok.decoder = decoders.WordPiece(prefix="##")       # joins words with spaces
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", pad_token="<pad>",
                                   unk_token="<unk>", eos_token="<bos>")


def word_ids(n: int, n_words: int = N_WORDS) -> torch.Tensor:
    """Token ids of the ordinary words (specials come first in the vocabulary)."""
    return torch.arange(len(SPECIALS), len(SPECIALS) + n_words)[:n]


def training_batch(batch: int, gen: torch.Generator, min_half: int = 8, max_half: int = 32,
                   n_words: int = N_WORDS) -> torch.Tensor:
    """``[batch, 1 + 2n]`` ids: ``<bos>``, ``n`` uniform random words, the same words again.

    ``n`` is drawn per batch from ``min_half..max_half``: with one fixed ``n`` the model
    can predict the second half by attending ``n`` positions back (a positional shortcut,
    not induction); a varying ``n`` leaves copying by content as the only solution.
    """
    if not 1 <= min_half <= max_half:
        raise ValueError(f"need 1 <= min_half <= max_half, got {min_half}, {max_half}")
    n = int(torch.randint(min_half, max_half + 1, (1,), generator=gen))
    x = torch.randint(0, n_words, (batch, n), generator=gen) + len(SPECIALS)
    return torch.cat([torch.full((batch, 1), BOS_ID), x, x], dim=1)


def repeated_batch(batch: int, half: int, gen: torch.Generator, vocab_ids: torch.Tensor) -> torch.Tensor:
    """``[batch, 2 * half]`` ids: ``half`` distinct random tokens of ``vocab_ids``, then the
    same again (no BOS; the caller prepends the model's own).  Distinct tokens make "the
    previous occurrence" of every second-half token unique."""
    if half > len(vocab_ids):
        raise ValueError(f"cannot draw {half} distinct tokens from a pool of {len(vocab_ids)}")
    rows = [vocab_ids[torch.randperm(len(vocab_ids), generator=gen)[:half]] for _ in range(batch)]
    first = torch.stack(rows)
    return torch.cat([first, first], dim=1)


def save_tokenizer(out: Path, n_words: int = N_WORDS) -> None:
    build_tokenizer(n_words).save_pretrained(out)
