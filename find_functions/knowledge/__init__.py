"""Knowledge tables shipped with the package: the world facts the relation functions look up.

FIND's relation functions were written by prompting an LLM for facts; here the facts live in small
tab-separated tables (one entity a row, one canonical string a cell) so that every relation is an
exact, reproducible lookup and the offline judge can share the same world knowledge. `README.md`
in this folder says where the facts come from and which choices were made for contested ones.

Lookup is forgiving in the ways a person typing an entity would expect (case, accents, spacing,
hyphens/underscores, punctuation, a leading "the", a few common aliases such as USA) but never
fuzzy: an input either names a row or it is outside the table's domain.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: Every table shipped in this folder (file stem -> its key column is the first column).
TABLE_NAMES: tuple[str, ...] = (
    "countries", "borders", "skyscrapers", "male_height", "world_cities", "us_cities",
    "heads_of_state", "monuments", "operas", "books", "politicians", "rivers", "animals",
    "gemstones", "first_names", "people",
)

_FOLD = str.maketrans({"ø": "o", "œ": "oe", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ı": "i"})
_DROP = re.compile(r"[.,'’`\"]")
_SPACE = re.compile(r"[\s_\-–—/]+")


def normalize(text: str) -> str:
    """The lookup key of a string: casefolded, accents and punctuation dropped, one space between words,
    no leading "the". `normalize("The Netherlands") == normalize("netherlands")`."""
    if not isinstance(text, str):
        raise TypeError(f"expected a string, got {type(text).__name__}")
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    folded = _SPACE.sub(" ", _DROP.sub("", folded)).strip()
    return folded[4:] if folded.startswith("the ") else folded


@dataclass(frozen=True)
class Table:
    """One knowledge table: rows keyed by their canonical first-column value."""

    name: str
    key_column: str
    columns: tuple[str, ...]
    rows: dict[str, dict[str, str]]  # canonical key -> full row (key column included)
    index: dict[str, str]  # normalized key or alias -> canonical key

    def canonical(self, text: str) -> str | None:
        """The canonical key `text` names in this table, or None when it names no row."""
        return self.index.get(normalize(text))

    def lookup(self, text: str) -> dict[str, str] | None:
        """The row `text` names, or None."""
        key = self.canonical(text)
        return None if key is None else self.rows[key]

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str) and self.canonical(text) is not None

    def keys(self) -> list[str]:
        """Canonical keys in file order."""
        return list(self.rows)


def _read_tsv(filename: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    reader = csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
    rows = list(reader)
    for line, row in enumerate(rows, start=2):
        missing = [c for c, v in row.items() if c is None or v is None or not v.strip()]
        if missing:
            raise ValueError(f"{filename} line {line}: empty or extra cell(s) {missing}")
    return rows


@lru_cache(maxsize=1)
def _aliases() -> dict[str, list[tuple[str, str]]]:
    by_table: dict[str, list[tuple[str, str]]] = {}
    for row in _read_tsv("aliases.tsv"):
        if row["table"] not in TABLE_NAMES:
            raise ValueError(f"aliases.tsv names an unknown table {row['table']!r}")
        by_table.setdefault(row["table"], []).append((row["alias"], row["canonical"]))
    return by_table


@lru_cache(maxsize=None)
def load_table(name: str) -> Table:
    """Load one table by name (see TABLE_NAMES); cached, so repeated lookups cost nothing."""
    if name not in TABLE_NAMES:
        raise ValueError(f"unknown knowledge table {name!r}; known: {', '.join(TABLE_NAMES)}")
    raw = _read_tsv(f"{name}.tsv")
    columns = tuple(raw[0].keys())
    key_column = columns[0]
    rows: dict[str, dict[str, str]] = {}
    index: dict[str, str] = {}
    for row in raw:
        key = row[key_column]
        norm = normalize(key)
        if norm in index:
            raise ValueError(f"{name}.tsv: {key!r} collides with {index[norm]!r} after normalization")
        rows[key] = dict(row)
        index[norm] = key
    for alias, canonical in _aliases().get(name, []):
        if canonical not in rows:
            raise ValueError(f"aliases.tsv: {alias!r} points to {canonical!r}, which is not in {name}.tsv")
        norm = normalize(alias)
        if index.get(norm, canonical) != canonical:
            raise ValueError(f"aliases.tsv: {alias!r} in {name} would shadow the row {index[norm]!r}")
        index[norm] = canonical
    return Table(name=name, key_column=key_column, columns=columns, rows=rows, index=index)
