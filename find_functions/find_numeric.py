"""FIND's own numeric functions, rebuilt from its public metadata (`numeric/data.json`).

The FIND release's runnable scripts are not available here, but `data.json` holds every function's
family, exact parameters, noise and corruption, and `func_name_dict.json` which variant each is
served as. That is enough to rebuild the 850 functions that are not MLP approximations (the MLP
weights are not in the metadata) with FIND's exact parameters and FIND's served behaviour.

Parameter conventions (FIND's `make_numeric/write_source_code.py`, checked against data.json: every
record's `corruption_params.std` equals the mean of the function so parameterised over its domain,
and every `name` is reproduced exactly from the parsed parameters):
- linear (m, b): m*x + b; polynomial [c_d, ..., c_0]: highest power first;
- rational ([n_0..n_p], [d_0..d_q]): lowest power first; reciprocal (a,): 1/(a*x);
- root (a, b, n): a*x**(1/n) + b; logarithm (a, b, base): a*log(x)/log(base) + b;
- absolute (a, b): FIND's *served* code is a*|x|, the bias b is dropped (its metadata and the
  corruption mean use a*|x| + b). The rebuild keeps the quirk in the served script and in the
  noise-free reference, which is what the black box computes; aia's own suite serves a*|x| + b;
- step (a, b, h0): a*H(x) + b with H(0) = h0; relu (a, b, leak): a*(x if x > 0 else leak*x) + b;
- tanh/sin/cos (a, b, c, d): a*f((2*pi/b)*(x - c)) + d; gaussian (mean, std): the normal density;
- constant c; rectangle (w,): 1 where |x| <= w/2; square_wave (period, shift); ceil/floor: none.

Where FIND's Python-float scripts differ from numpy (a square root of a negative number gives a
complex number there; numpy, and FIND's corrupted scripts, give NaN) the rebuild returns NaN.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .numeric import (
    COMBINES,
    COMPOSITE_PARTS,
    FAMILIES,
    SCRIPT_NAMES,
    Component,
    NumericFunction,
    held_out_inputs,
)
from .spec import SuiteFunction

_VARIANT_OF_SCRIPT = {v: k for k, v in SCRIPT_NAMES.items()}
_COMBINE_OF_FIND = {v: k for k, v in COMBINES.items()}


def load_find_records(data_json: Path, func_name_dict_json: Path | None = None) -> list[tuple[dict, str]]:
    """(record, served script name) for each of FIND's numeric functions, in data.json order."""
    data_json = Path(data_json)
    names_path = Path(func_name_dict_json) if func_name_dict_json else data_json.parent / "func_name_dict.json"
    for p in (data_json, names_path):
        if not p.is_file():
            raise FileNotFoundError(f"FIND numeric metadata not found: {p}")
    records = json.loads(data_json.read_text(encoding="utf-8"))
    served = json.loads(names_path.read_text(encoding="utf-8"))
    if not isinstance(records, list) or not isinstance(served, dict):
        raise TypeError(f"{data_json} must hold a list of records and {names_path} a dict")
    out = []
    for r in records:
        fid = r.get("dir", "?").rsplit("/", 1)[-1]
        if fid not in served:
            raise ValueError(f"{fid}: missing from {names_path}")
        out.append((r, served[fid]))
    return out


def parse_record(record: dict, script_name: str) -> NumericFunction:
    """One data.json record as a NumericFunction served like FIND serves it (not for MLPs)."""
    fid = str(record["dir"]).rsplit("/", 1)[-1]
    variant = _VARIANT_OF_SCRIPT.get(script_name)
    if variant is None:
        raise ValueError(f"{fid}: unknown served script {script_name!r}")
    if variant == "mlp":
        raise ValueError(f"{fid}: MLP-approximated functions cannot be rebuilt (no weights in data.json)")
    parts = str(record["name"]).split("(", 1)[0].split(";")
    if len(parts) == 1:
        components: tuple[Component, ...] = (_component(fid, parts[0], record["params"], FAMILIES),)
        combine = None
    elif len(parts) == 3 and parts[2] in _COMBINE_OF_FIND:
        p1, p2 = record["params"]
        components = (_component(fid, parts[0], p1, COMPOSITE_PARTS), _component(fid, parts[1], p2, COMPOSITE_PARTS))
        combine = _COMBINE_OF_FIND[parts[2]]
    else:
        raise ValueError(f"{fid}: unsupported function name {record['name']!r}")
    fn = NumericFunction(
        id=fid,
        variant=variant,
        components=components,
        combine=combine,
        noise_type=record["noise_type"] if variant == "noised" else None,
        noise_params=record["noise_params"] if variant == "noised" else None,
        corruption_type=record["corruption_type"] if variant == "corrupted" else None,
        corruption_params=_corruption(record) if variant == "corrupted" else None,
        domain=(float(record["domain"][0]), float(record["domain"][1])),
        held_out_inputs=held_out_inputs(random.Random(f"find-numeric:{fid}")),
        drop_absolute_bias=True,
        extra_metadata={"source": "FIND numeric/data.json"},
    )
    if fn.find_name != record["name"]:
        raise ValueError(f"{fid}: parameters parsed as {fn.find_name!r}, data.json names {record['name']!r}")
    return fn


def _component(fid: str, family: str, params: Any, allowed: tuple[str, ...]) -> Component:
    if family not in allowed:
        raise ValueError(f"{fid}: family {family!r} is not one of {allowed}")
    expected = {"constant": int, "ceil": type(None), "floor": type(None)}.get(family, list)
    if not isinstance(params, expected):
        raise TypeError(f"{fid}: {family} parameters {params!r} are not a {expected.__name__}")
    return Component(family, params)


def _corruption(record: dict) -> dict[str, Any]:
    cp = record["corruption_params"]
    return {"std": float(cp["std"]), "boundary": [float(b) for b in cp["boundary"]]}


def rebuild_find_numeric(data_json: Path, func_name_dict_json: Path | None = None) -> list[SuiteFunction]:
    """FIND's 850 non-MLP numeric functions with FIND's parameters and served variants, ids = FIND's dirs.

    `func_name_dict_json` defaults to `func_name_dict.json` next to `data_json`.
    """
    return [parse_record(r, script).to_suite_function()
            for r, script in load_find_records(data_json, func_name_dict_json)
            if script != SCRIPT_NAMES["mlp"]]
