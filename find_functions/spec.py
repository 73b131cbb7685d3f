"""The data model of a ground-truth function: what is served, what is sealed, how it is tested.

A `SuiteFunction` is everything the suite knows about one function. Only its *script* is ever
executed on behalf of an investigator (inside a worker process); the ground truth, the unit tests
and the held-out inputs stay with the scorer. Generators for each category build these records;
`find_functions.layout` writes them to disk in the official FIND release layout and reads them back.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

Category = Literal["numeric", "strings", "neurons_entities", "neurons_relations"]
CATEGORIES: tuple[Category, ...] = ("numeric", "strings", "neurons_entities", "neurons_relations")

#: Counts of the official FIND release; the default suite matches them.
FIND_COUNTS: dict[Category, int] = {
    "numeric": 1000,
    "strings": 1000,
    "neurons_entities": 200,
    "neurons_relations": 75,
}

#: The value a relation function returns outside its domain (FIND's wording).
UNDEFINED = "undefined"


def function_id(index: int) -> str:
    """FIND names functions f00000, f00001, ..."""
    return f"f{index:05d}"


class MultipleChoiceItem(BaseModel):
    """One three-way multiple-choice unit test, as FIND builds them.

    strings / relations: `inputs[i]` paired with `outputs[i]`; exactly one pair is a correct
    execution of the function. entities: `outputs` is None and `inputs[correct]` is the word the
    function is most selective for.
    """

    inputs: list[str] = Field(min_length=3, max_length=3)
    outputs: list[str] | None = None
    correct: int = Field(ge=0, le=2)

    @field_validator("outputs")
    @classmethod
    def _three_outputs(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and len(v) != 3:
            raise ValueError(f"a multiple-choice item has 3 outputs, got {len(v)}")
        return v


class GroundTruth(BaseModel):
    """What a perfect investigator would say. Never shown to an investigator.

    `code` defines `function(x)` and is the *noise-free* reference: for a noised function it omits
    the noise, for an interval-corrupted one it returns, inside the interval, the constant the
    corruption noise is centred on. `served_code` is what the black box really computes (numeric).
    """

    description: str
    code: str | None = None
    domain: tuple[float, float] | None = None  # numeric: the interval that behaves differently
    label: str | None = None  # short name of the behaviour (family, operation, concept, relation)
    metadata: dict[str, Any] = Field(default_factory=dict)


class SuiteFunction(BaseModel):
    """One function of a suite, ready to be written to disk or served."""

    id: str = Field(pattern=r"^f\d{5}$")
    category: Category
    variant: str
    script_name: str = "function_code.py"
    script: str  # a runnable FIND-style script defining `function(x)` (see find_functions.script)
    extra_files: dict[str, bytes] = Field(default_factory=dict, exclude=True)  # e.g. MLP weights
    ground_truth: GroundTruth
    unit_tests: list[MultipleChoiceItem] = Field(default_factory=list)
    held_out_inputs: list[Any] = Field(default_factory=list)
