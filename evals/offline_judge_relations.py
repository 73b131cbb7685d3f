"""Offline judge for relation functions: answer a FIND multiple-choice item from a description alone.

FIND lets an LLM judge read a description and pick which of three (input, output) pairs the
described function produces. This judge stands in for that LLM without one: it recognises which
relation the description states (capital of a country, composer of an opera...) and which exception
it states ("undefined for Asian countries"), by phrase patterns of its own, then executes that
reading with the knowledge tables (its "world knowledge") and picks the pair that agrees.

It never sees the suite's ground truth: only the description text, the item's pairs, and the
knowledge tables. When it cannot read a relation from the description it chooses by a hash of the
item, i.e. at chance (1/3); FIND's distractor pairs are correct executions of *other* relations, so
executing every relation blindly gives no advantage either.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from find_functions.knowledge import normalize
from find_functions.relations import ExceptionClause, RelationFunction
from find_functions.spec import UNDEFINED

#: Per relation: (input-type patterns, answer-type patterns). A reading needs an answer-type match.
_PATTERNS: dict[str, tuple[str, str]] = {
    "country_capital": (r"\bcountr(?:y|ies)|\bnations?\b", r"\bcapital"),
    "city_country": (r"\bcit(?:y|ies)\b|\btowns?\b", r"\bcountr(?:y|ies)|\bnation\b"),
    "head_of_state_country": (r"\bheads?_of_state\b|\bleaders?\b|\bpresidents?\b|prime minister|\bmonarchs?\b"
                              r"|\brulers?\b", r"\bcountr(?:y|ies)|\bnation\b"),
    "monument_country": (r"\bmonuments?\b|\blandmarks?\b|\bmemorials?\b|\battractions?\b",
                         r"\bcountr(?:y|ies)|\bnation\b"),
    "monument_continent": (r"\bmonuments?\b|\blandmarks?\b|\bmemorials?\b|\battractions?\b", r"\bcontinent"),
    "us_city_state": (r"\b(?:us|u s|american)\b (?:cit|town)|(?:cit(?:y|ies)|towns?) (?:in|of) (?:the )?"
                      r"(?:us|u s|usa|united states|america)\b", r"(?<!united )\bstates?\b"),
    "country_language": (r"\bcountr(?:y|ies)|\bnations?\b", r"\blanguages?\b|\bspoken\b|\btongue\b"),
    "person_occupation": (r"\bpe(?:rson|ople)\b|\bfamous\b|\bcelebrit|\bwell known\b|\bindividuals?\b",
                          r"\boccupation|\bprofession|\bjob\b|\bcareer|\bwhat (?:they|he|she) (?:do|did)\b"),
    "name_gender": (r"\bnames?\b", r"\bgender|\bsex\b|\bmale or female\b|\bmasculine|\bfeminine"),
    "country_continent": (r"\bcountr(?:y|ies)|\bnations?\b", r"\bcontinent"),
    "opera_composer": (r"\boperas?\b", r"\bcompos"),
    "book_author": (r"\bbooks?\b|\bnovels?\b|\btitles?\b", r"\bauthor|\bwrote\b|\bwritten by\b|\bwriter"),
    "country_neighbour": (r"\bcountr(?:y|ies)|\bnations?\b", r"\bborder|\bneighbo|\badjacent"),
    "politician_party": (r"\bpoliticians?\b|\bsenators?\b|\blawmakers?\b|\bcongress",
                         r"\bpart(?:y|ies)\b|\baffiliation"),
    "river_continent": (r"\brivers?\b", r"\bcontinent"),
    "city_time_zone": (r"\bcit(?:y|ies)\b|\btowns?\b", r"\btime ?zones?\b|\butc\b|\bgmt\b"),
    "opera_language": (r"\boperas?\b", r"\blanguages?\b|\blibretto|\bsung in\b"),
    "animal_food": (r"\banimals?\b|\bspecies\b|\bcreatures?\b", r"\bfood|\beats?\b|\beating\b|\bfeeds?\b|\bprey\b"),
    "animal_habitat": (r"\banimals?\b|\bspecies\b|\bcreatures?\b",
                       r"\bhabitat|\bwhere (?:it|they) lives?\b|\benvironment|\becosystem"),
    "gemstone_colour": (r"\bgem|\bstones?\b|\bminerals?\b|\bjewels?\b", r"\bcolou?rs?\b"),
    "country_flag_colours": (r"\bcountr(?:y|ies)|\bnations?\b", r"\bflags?\b"),
    "river_length": (r"\brivers?\b", r"\blength|\blong\b|\bkilomet|\bkm\b"),
    "country_highest_point": (r"\bcountr(?:y|ies)|\bnations?\b",
                              r"\belevation|\bhighest (?:point|mountain|peak|summit)|\baltitude|\bsummit"),
    "country_tallest_building": (r"\bcountr(?:y|ies)|\bnations?\b", r"\bskyscraper|\btallest building|\bbuildings?\b"),
    "country_male_height": (r"\bcountr(?:y|ies)|\bnations?\b",
                            r"\baverage (?:adult )?(?:male|man|men)\b|\bmale height|\baverage height"
                            r"|\bheight of (?:the )?(?:average|typical) (?:male|man|men)|\badult men\b|\bhow tall"),
}

#: Words that introduce the sub-domain on which a function answers undefined.
_CUE = re.compile(r"\bundefined\b|\bexcept|\bunless\b|\bexclud|\bother than\b|\boutside\b|\bnot defined\b"
                  r"|\bno (?:answer|output|value)\b|\bnone\b|\bnull\b|\bnothing\b")

#: Exception phrasings: (pattern, [(attribute, op, value) readings]); the first reading whose attribute
#: the relation's records carry is used. Longer place names come first so that "South America" is
#: not read as "America".
_EXCEPTION_PATTERNS: list[tuple[str, list[tuple[str, str, str]]]] = [
    (r"\bnorth americ", [("continent", "eq", "North America")]),
    (r"\bsouth americ", [("continent", "eq", "South America")]),
    (r"\bnew york(?: city)?\b|\bnyc\b", [("city", "eq", "New York City")]),
    (r"\bunited states\b|\busa?\b|\bu s\b|\bameric", [("country", "eq", "United States")]),
    (r"\bmexic", [("country", "eq", "Mexico")]),
    (r"\bfrance\b", [("country", "eq", "France")]),
    (r"\bfrench\b", [("language", "eq", "French"), ("country", "eq", "France")]),
    (r"\baustralia", [("country", "eq", "Australia"), ("continent", "eq", "Oceania")]),
    (r"\boceania|\baustralasia", [("continent", "eq", "Oceania")]),
    (r"\basia", [("continent", "eq", "Asia")]),
    (r"\bafrica", [("continent", "eq", "Africa")]),
    (r"\beurope", [("continent", "eq", "Europe")]),
    (r"\bcalifornia", [("state", "eq", "California")]),
    (r"\btexa", [("state", "eq", "Texas")]),
    (r"\bital", [("language", "eq", "Italian"), ("country", "eq", "Italy")]),
    (r"\benglish\b", [("language", "eq", "English")]),
    (r"\bgerman\b", [("language", "eq", "German")]),
    (r"\brussian\b", [("language", "eq", "Russian")]),
    (r"\bcarnivor|\bmeat eat|\bpredators?\b", [("diet", "eq", "carnivore")]),
    (r"\bherbivor|\bplant eat|\bvegetarian", [("diet", "eq", "herbivore")]),
    (r"\bomnivor", [("diet", "eq", "omnivore")]),
    (r"\bon land\b|\bland (?:animal|dwell)|\bterrestrial", [("realm", "eq", "land")]),
    (r"\bocean|\bmarine\b|\bsea\b|\bsaltwater", [("realm", "eq", "ocean")]),
    (r"\bfreshwater", [("realm", "eq", "freshwater")]),
    (r"\bwom[ae]n\b|\bfemales?\b|\bgirls?\b", [("gender", "eq", "female")]),
    (r"\bm[ae]n\b|\bmales?\b|\bboys?\b", [("gender", "eq", "male")]),
]
_COLOURS = ("red", "blue", "green", "yellow", "purple", "white", "black", "pink", "orange", "brown")
_LETTER = re.compile(r"\b(?:begins?|beginning|starts?|starting) with (?:the letter |letter |an? )?([a-z])\b"
                     r"|\bfirst letter (?:is |of )?([a-z])\b")
_YEAR = re.compile(r"\b(after|since|later than|post|before|prior to|earlier than|pre)\s+(\d{4})\b")
_CENTURY = [(re.compile(r"\b(?:20th|21st|twentieth|twenty first) century|\bmodern\b"), "gt", "1900"),
            (re.compile(r"\b(?:19th|18th|17th|nineteenth|eighteenth) century|\bclassic"), "lt", "1900")]


@dataclass(frozen=True)
class Reading:
    """What the judge understood: a relation and, possibly, an exception predicate."""

    relation: str
    exception: ExceptionClause | None


def _text(description: str) -> str:
    """Lower-case words separated by single spaces; sentence punctuation is kept for clause splitting,
    "head of state" becomes one token so that its "state" is not read as a US state."""
    text = re.sub(r"\bu\.s\.(?:a\.)?", "us", description.casefold())
    text = re.sub(r"\s+", " ", re.sub(r"[-/]", " ", text))
    text = re.sub(r"\bcapital cit(y|ies)\b", "capital", text)
    return re.sub(r"\bhead(s?) of state", r"head\1_of_state", text)


def _clauses(text: str) -> tuple[str, list[str], list[str]]:
    """(main text, exception segments, cue clauses). Text is split into clauses at . ; and newlines;
    in a clause with an undefined-cue ("undefined", "except", "unless"...), what precedes the cue is
    main text and what follows it is an exception segment; the whole cue clause is kept as a fallback
    for phrasings that name the sub-domain before the cue ("for Asian countries it gives undefined")."""
    main, segments, cue_clauses = [], [], []
    for clause in re.split(r"[.;\n]+", text):
        cue = _CUE.search(clause)
        if cue is None:
            main.append(clause)
        else:
            main.append(clause[:cue.start()])
            segments.append(clause[cue.start():])
            cue_clauses.append(clause)
    return " ".join(main), segments, cue_clauses


def _relation_scores(main: str, aside: str) -> dict[str, float]:
    """Score each relation that names its answer type anywhere: answer-type match 2, input-type
    match 1, and text after an undefined-cue counts half as much as main text."""
    scores = {}
    for name, (domain, answer) in _PATTERNS.items():
        if not (re.search(answer, main) or re.search(answer, aside)):
            continue
        scores[name] = sum(weight * (2 * bool(re.search(answer, text)) + bool(re.search(domain, text)))
                           for text, weight in ((main, 1.0), (aside, 0.5)))
    return scores


def _exception_candidates(segment: str) -> list[tuple[int, str, str, str]]:
    """Every exception reading named in `segment`, with its position (earliest first)."""
    found: list[tuple[int, str, str, str]] = []
    taken: list[tuple[int, int]] = []
    for pattern, readings in _EXCEPTION_PATTERNS:
        for m in re.finditer(pattern, segment):
            if any(a <= m.start() < b for a, b in taken):
                continue
            taken.append(m.span())
            found.extend((m.start(), *reading) for reading in readings)
    for colour in _COLOURS:
        for m in re.finditer(rf"\b{colour}\b", segment):
            found.append((m.start(), "colour", "eq", colour))
    for m in _LETTER.finditer(segment):
        letter = next(g for g in m.groups() if g)
        found.append((m.start(), "name", "startswith", letter.upper()))
    for m in _YEAR.finditer(segment):
        op = "gt" if m.group(1) in ("after", "since", "later than", "post") else "lt"
        year = int(m.group(2)) - (1 if m.group(1) == "since" else 0)
        found.append((m.start(), "year", op, str(year)))
    for pattern, op, year in _CENTURY:
        for m in pattern.finditer(segment):
            found.append((m.start(), "year", op, year))
    return sorted(found, key=lambda c: c[0])


def _exception_for(relation: str, segments: list[str]) -> ExceptionClause | None:
    """The first exception reading, in the exception segments, that the relation's records can test."""
    fn = RelationFunction(relation)
    probe = fn.record(fn.domain_members()[0]) or {}
    for segment in segments:
        for _, attribute, op, value in _exception_candidates(segment):
            if attribute in probe:
                return ExceptionClause(clause=f"{attribute} {op} {value}", attribute=attribute, op=op, value=value)
    return None


@lru_cache(maxsize=512)
def read_description(description: str) -> tuple[Reading, ...]:
    """Candidate readings of a description, most likely first (empty when no relation is recognised)."""
    main, segments, cue_clauses = _clauses(_text(description))
    scores = _relation_scores(main, " ".join(segments))
    ranked = sorted(scores, key=lambda name: -scores[name])  # stable: ties keep FIND's relation order
    return tuple(Reading(name, _exception_for(name, segments + cue_clauses)) for name in ranked)


def _predict(reading: Reading, x: str, with_exception: bool = True) -> str:
    fn = RelationFunction(reading.relation)
    record = fn.record(x)
    if record is None:
        return UNDEFINED
    exception = reading.exception if with_exception else None
    if exception is not None and exception.attribute in record and exception.holds(record):
        return UNDEFINED
    return fn(x)


def _same(predicted: str, output: str) -> bool:
    a, b = normalize(predicted), normalize(str(output))
    if b in ("none", "", "null"):
        b = normalize(UNDEFINED)
    if a == b:
        return True
    try:
        fa, fb = float(predicted), float(output)
    except ValueError:
        return False
    return abs(fa - fb) <= 0.005 * max(abs(fa), abs(fb), 1e-9)


def _chance(description: str, inputs: list[str], outputs: list[str], k: int) -> int:
    digest = hashlib.sha256("\x00".join([description, *inputs, *outputs]).encode()).digest()
    return digest[0] % k


def choose_relation(description: str, inputs: list[str], outputs: list[str]) -> int:
    """The index (0-2) of the pair the description predicts; a hash of the item when it predicts none.

    Readings are tried most likely first. A reading that matches no pair is retried without its
    exception, then credited with an exception it failed to parse: a pair whose input is in the
    reading's domain but whose output is `undefined`. Only then is the next reading tried.
    """
    if len(inputs) != 3 or len(outputs) != 3:
        raise ValueError(f"a relation item has 3 inputs and 3 outputs, got {len(inputs)} and {len(outputs)}")
    pairs = list(zip(inputs, outputs))
    for reading in read_description(description):
        domain = RelationFunction(reading.relation)
        attempts = [[i for i, (x, y) in enumerate(pairs) if _same(_predict(reading, x, True), y)],
                    [i for i, (x, y) in enumerate(pairs) if _same(_predict(reading, x, False), y)],
                    [i for i, (x, y) in enumerate(pairs) if domain.in_domain(x) and _same(UNDEFINED, y)]]
        for agree in attempts:
            if agree:
                return agree[_chance(description, inputs, outputs, len(agree))] if len(agree) > 1 else agree[0]
    return _chance(description, inputs, outputs, 3)
