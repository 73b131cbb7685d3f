"""The numeric ground-truth suite: composition, determinism, served scripts, noise, corruption,
MLP fit, and the rebuild of FIND's own functions from its metadata."""

from __future__ import annotations

import collections
import json
import math
import random
import re
import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from find_functions import mlp
from find_functions.find_numeric import (
    load_find_records,
    parse_record,
    rebuild_find_numeric,
)
from find_functions.numeric import (
    COMPOSITE_PARTS,
    FAMILIES,
    FIND_VARIANT_COUNTS,
    SCRIPT_NAMES,
    Component,
    NumericFunction,
    compile_function,
    corruption_mean,
    find_grid,
    generate_numeric,
    sample_numeric,
    variant_counts,
)

FIND_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "find" / "numeric"
needs_find = pytest.mark.skipif(not (FIND_DIR / "data.json").is_file(),
                                reason=f"FIND metadata not available at {FIND_DIR}")
LINE = re.compile(r"^Function input - output pairs: (\(.*?\) )*$")


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """A small suite with every variant, its MLPs trained into a private cache."""
    cache = tmp_path_factory.mktemp("aia-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIA_CACHE_DIR", str(cache))
        return generate_numeric(7, n=40)


def _write(fn, root: Path) -> Path:
    d = root / fn.id
    d.mkdir(parents=True, exist_ok=True)
    (d / fn.script_name).write_text(fn.script)
    for name, data in fn.extra_files.items():
        (d / name).write_bytes(data)
    return d / fn.script_name


def _run(script: Path, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, script.name, *args], cwd=script.parent, capture_output=True,
                         text=True, timeout=60, check=True).stdout.strip("\n")
    assert LINE.match(out), out
    return re.findall(r"\(([^,]+), ([^)]+)\)", out)


# ---------------------------------------------------------------------------------------------
# composition and determinism
# ---------------------------------------------------------------------------------------------

def test_counts_match_find_for_1000():
    fns = sample_numeric(0, 1000)
    assert [f.id for f in fns] == [f"f{i:05d}" for i in range(1000)]
    assert collections.Counter(f.variant for f in fns) == FIND_VARIANT_COUNTS
    assert sum(f.combine is not None for f in fns) == 150  # 15% composite
    atomic = collections.Counter(f.components[0].family for f in fns if f.combine is None)
    assert set(atomic) == set(FAMILIES) and min(atomic.values()) > 25  # ~53 each
    parts = {c.family for f in fns if f.combine for c in f.components}
    assert parts <= set(COMPOSITE_PARTS) and {"ceil", "floor"} <= parts
    noised = collections.Counter(f.noise_type for f in fns if f.variant == "noised")
    assert set(noised) == {"normal", "uniform", "poisson"}
    corrupted = collections.Counter(f.corruption_type for f in fns if f.variant == "corrupted")
    assert 0.35 < corrupted["interval_inside"] / 191 < 0.65
    assert all(f.noise_type is None for f in fns if f.variant != "noised")


def test_small_n_keeps_proportions():
    for n in (1, 7, 20, 333):
        counts = variant_counts(n)
        assert sum(counts.values()) == n
        for v, c in counts.items():
            assert abs(c - FIND_VARIANT_COUNTS[v] * n / 1000) < 1
    with pytest.raises(ValueError, match="n must be"):
        variant_counts(-1)


def test_sampling_is_deterministic_per_seed():
    a, b, c = sample_numeric(3, 120), sample_numeric(3, 120), sample_numeric(4, 120)
    assert a == b
    assert [f.find_name for f in a] != [f.find_name for f in c]


def test_generate_is_deterministic(suite, tmp_path, monkeypatch):
    monkeypatch.setenv("AIA_CACHE_DIR", str(tmp_path))  # cold cache: retrained, same bytes
    again = generate_numeric(7, n=40)
    assert [f.model_dump() for f in again] == [f.model_dump() for f in suite]
    assert [f.extra_files for f in again] == [f.extra_files for f in suite]


def test_suite_function_shape(suite):
    assert {f.variant for f in suite} == set(SCRIPT_NAMES)
    for f in suite:
        gt = f.ground_truth
        assert f.script_name == SCRIPT_NAMES[f.variant]
        for key in ("family", "params", "components", "combine", "noise_type", "corruption_type",
                    "served_code", "domain", "name"):
            assert key in gt.metadata
        families = [c["family"] for c in gt.metadata["components"]]
        op = {None: "", "sum": "+", "product": "*"}[gt.metadata["combine"]]
        assert gt.label == op.join(families)
        assert (gt.domain is not None) == (f.variant == "corrupted")
        assert gt.code.startswith("import math") and "random" not in gt.code
        xs = f.held_out_inputs
        assert len(xs) == 200 and all(-128 <= x <= 128 and (x - 0.5) % 1 != 0 for x in xs)
        if f.variant == "clean":
            assert gt.code == gt.metadata["served_code"]


FAMILY_WORDS = {"linear": "linear", "polynomial": "polynomial", "absolute": "absolute", "root": "root",
                "logarithm": "logarithm", "step": "step", "relu": "ReLU", "tanh": "tanh",
                "constant": "constant", "sin": "sine", "cos": "cosine", "reciprocal": "reciprocal",
                "gaussian": "Gaussian", "rational": "rational", "rectangle": "rectangle",
                "square_wave": "square wave", "ceil": "ceiling", "floor": "floor"}


def test_descriptions_name_family_and_variant(suite):
    for f in suite:
        text = f.ground_truth.description
        assert "f(x) = " in text
        for c in f.ground_truth.metadata["components"]:
            assert FAMILY_WORDS[c["family"]] in text
        if f.ground_truth.metadata["combine"]:
            assert ("sum" if f.ground_truth.metadata["combine"] == "sum" else "product") in text
        if f.variant == "noised":
            assert "noise" in text or "Poisson" in text
        if f.variant == "corrupted":
            assert "replaced by noise around" in text
        if f.variant == "mlp":
            assert "MLP" in text


# ---------------------------------------------------------------------------------------------
# served scripts
# ---------------------------------------------------------------------------------------------

def test_scripts_run_and_print_finds_line(suite, tmp_path):
    by_variant = collections.defaultdict(list)
    for f in suite:
        by_variant[f.variant].append(f)
    for variant, fns in by_variant.items():
        for f in fns[:3]:
            pairs = _run(_write(f, tmp_path), "1", "2.5", "-3")
            assert [p[0] for p in pairs] == ["1", "2.5", "-3"]
            ref = compile_function(f.ground_truth.code)
            for arg, out in pairs:
                try:
                    expected = ref(float(arg))
                except ZeroDivisionError:
                    assert out == "None"
                    continue
                if variant == "clean" or (variant == "corrupted" and not _corrupted(f, float(arg))):
                    assert out == str(expected)
                elif variant == "corrupted":
                    assert abs(float(out) - expected) < 1.0  # N(std, 0.1) around the reference's std
                else:
                    assert math.isfinite(float(out)) or not math.isfinite(expected)


def _corrupted(f, x: float) -> bool:
    kind = f.ground_truth.metadata["corruption_type"]
    b = f.ground_truth.metadata["corruption_params"]["boundary"]
    return {"interval_smaller": x <= b[0], "interval_larger": x >= b[0],
            "interval_inside": b[0] < x < b[-1]}[kind]


def test_noise_statistics(suite):
    noised = [f for f in suite if f.variant == "noised"]
    assert noised
    for f in noised + [_linear_noised(t) for t in ("normal", "uniform", "poisson")]:
        served = compile_function(f.ground_truth.metadata["served_code"])
        ref = compile_function(f.ground_truth.code)
        lo, hi = f.ground_truth.metadata["domain"]
        x = (lo + hi) / 2 + 0.25  # inside the definition domain
        # Served code draws from the global `random`; seeded so the bands (about 3 standard
        # errors) are a fixed check, not a coin that fails one run in a few hundred.
        random.seed(f"noise-statistics:{f.id}:{f.ground_truth.metadata['noise_type']}")
        r = [served(x) - ref(x) for _ in range(3000)]
        noise_type = f.ground_truth.metadata["noise_type"]
        if noise_type == "normal":
            assert abs(statistics.fmean(r)) < 0.1 and 0.9 < statistics.pstdev(r) < 1.1
        elif noise_type == "uniform":
            assert max(map(abs, r)) <= 1 + 1e-9 and 0.52 < statistics.pstdev(r) < 0.63
        else:
            assert all(abs(v - round(v)) < 1e-6 * max(1, abs(ref(x))) and v > -1e-6 for v in r)
            assert 0.9 < statistics.fmean(r) < 1.1 and 0.9 < statistics.pvariance(r) < 1.1


def _linear_noised(noise_type):
    """A linear noised function with the given noise, rendered like the suite's."""
    spec = NumericFunction(id="f00000", variant="noised", components=(Component("linear", [2.0, 1.0]),),
                           noise_type=noise_type, noise_params=1.0)
    return spec.to_suite_function()


@pytest.mark.parametrize("ctype,bounds,inside,outside", [
    ("interval_smaller", [10.0], [-127.0, 9.9, 10.0], [10.1, 50.0]),
    ("interval_larger", [10.0], [10.0, 10.1, 127.0], [9.9, -50.0]),
    ("interval_inside", [10.0, 20.0], [10.1, 15.0, 19.9], [10.0, 20.0, -5.0, 25.0]),
])
def test_corruption_interval(ctype, bounds, inside, outside):
    comp = (Component("linear", [3.0, -2.0]),)
    std = corruption_mean(compile_function(NumericFunction("f00000", "clean", comp).clean_code()), (-100, 100))
    spec = NumericFunction("f00001", "corrupted", comp, corruption_type=ctype,
                           corruption_params={"std": std, "boundary": bounds})
    f = spec.to_suite_function()
    served = compile_function(f.ground_truth.metadata["served_code"])
    ref = compile_function(f.ground_truth.code)
    random.seed(f"corruption-interval:{ctype}")  # the served code draws from the global random
    for x in inside:
        values = [served(x) for _ in range(200)]
        assert abs(statistics.fmean(values) - std) < 0.05 and 0.07 < statistics.pstdev(values) < 0.13
        assert ref(x) == std
    for x in outside:
        assert served(x) == ref(x) == 3.0 * x - 2.0
    lo, hi = f.ground_truth.domain
    assert -128 <= lo < hi <= 128 and (lo == -128 or lo == bounds[0]) and (hi == 128 or hi == bounds[-1])


def test_suite_corruption_matches_reference(suite):
    for f in (f for f in suite if f.variant == "corrupted"):
        served = compile_function(f.ground_truth.metadata["served_code"])
        ref = compile_function(f.ground_truth.code)
        std = f.ground_truth.metadata["corruption_params"]["std"]
        lo, hi = f.ground_truth.domain
        mid = (lo + hi) / 2
        assert abs(served(mid) - std) < 1.0 and ref(mid) == std


# ---------------------------------------------------------------------------------------------
# MLP variant
# ---------------------------------------------------------------------------------------------

def test_mlp_fit_quality_and_served_weights(suite, tmp_path):
    mlps = [f for f in suite if f.variant == "mlp"]
    assert len(mlps) == 6
    for f in mlps:
        script = _write(f, tmp_path)
        ns = {"__file__": str(script), "__name__": "served_mlp"}
        exec(compile(script.read_text(), str(script), "exec"), ns)  # noqa: S102 - our own script
        lo, hi = f.ground_truth.metadata["domain"]
        grid = np.array([x for x in find_grid() if lo <= x <= hi])
        ref = np.array([compile_function(f.ground_truth.code)(x) for x in grid])
        pred = np.array(ns["function_batch"](grid))
        assert mlp.nmse(pred, ref) < mlp.ACCEPT_NMSE
        assert abs(mlp.nmse(pred, ref) - f.ground_truth.metadata["mlp_grid_nmse"]) < 1e-6
        assert ns["function"](grid[3]) == pytest.approx(pred[3])
        w = mlp.from_safetensors(f.extra_files[mlp.WEIGHTS_FILE])
        assert w.w1.shape == (mlp.HIDDEN,) and w.w2.shape == (mlp.HIDDEN,)


def test_mlp_trains_where_the_hinge_start_is_poor(tmp_path, monkeypatch):
    """A function whose closed-form start is imperfect goes through the batched torch refinement."""
    monkeypatch.setenv("AIA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(mlp, "REFINE", (100, 1e-3))  # the full 600 steps take ~8 s on a busy machine
    spec = NumericFunction("f00000", "clean", (Component("sin", [5.0, 15.0, 1.0, 0.5]),))
    from find_functions.numeric import mlp_target

    target = mlp_target(spec)
    start_err = target.hinge_fit()[1]
    assert start_err > mlp.RETRAIN_NMSE
    [w] = mlp.train_mlps([target])
    assert w.grid_nmse < start_err  # Adam improved on the closed-form start
    assert list(tmp_path.glob("mlp/*.safetensors"))  # cached
    [cached] = mlp.train_mlps([target])
    assert np.array_equal(cached.w2, w.w2)


def test_unrepresentable_functions_stay_out_of_mlp_slots():
    from find_functions.numeric import mlp_representable

    fast_square = NumericFunction("f00000", "clean", (Component("square_wave", [2.0, 0.0]),))
    assert not mlp_representable(fast_square)
    assert mlp_representable(NumericFunction("f00000", "clean", (Component("gaussian", [10.0, 5.0]),)))


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------

def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown numeric family"):
        Component("spline", [1.0])
    with pytest.raises(ValueError, match="unknown numeric variant"):
        NumericFunction("f00000", "blurred", (Component("linear", [1.0, 2.0]),))
    with pytest.raises(ValueError, match="noise_type"):
        NumericFunction("f00000", "noised", (Component("linear", [1.0, 2.0]),))
    with pytest.raises(ValueError, match="boundary"):
        NumericFunction("f00000", "corrupted", (Component("linear", [1.0, 2.0]),),
                        corruption_type="interval_inside", corruption_params={"std": 1.0, "boundary": [1.0]})


# ---------------------------------------------------------------------------------------------
# FIND's own functions
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def find_rebuild():
    return rebuild_find_numeric(FIND_DIR / "data.json")


@needs_find
def test_find_rebuild_counts(find_rebuild):
    served = json.loads((FIND_DIR / "func_name_dict.json").read_text())
    assert len(find_rebuild) == 850
    expected = collections.Counter(v for v in served.values() if v != "load_mlp.py")
    assert collections.Counter(f.script_name for f in find_rebuild) == expected
    for f in find_rebuild:
        assert served[f.id] == f.script_name


@needs_find
def test_find_conventions_reproduce_every_corruption_mean():
    """Each record's `std` is the mean of f over its domain: proves the parameter conventions."""
    for record, _ in load_find_records(FIND_DIR / "data.json"):
        spec = replace(parse_record(record, "function_code.py"), drop_absolute_bias=False)
        mean = corruption_mean(compile_function(spec.clean_code()), spec.domain)
        assert math.isclose(mean, record["corruption_params"]["std"], rel_tol=1e-6, abs_tol=1e-9), record["dir"]


@needs_find
def test_find_spot_values(find_rebuild, tmp_path):
    by_id = {f.id: f for f in find_rebuild}

    def ref(fid):
        return compile_function(by_id[fid].ground_truth.code)

    # f00153 cos((-7.2, 2.8, 5.3, -3.5)), clean
    assert ref("f00153")(1.0) == pytest.approx(-7.2 * math.cos(2 * math.pi / 2.8 * (1.0 - 5.3)) - 3.5)
    # f00154 reciprocal((-7.8,)), clean; undefined at 0 (FIND prints None)
    assert ref("f00154")(2.0) == pytest.approx(1 / (-7.8 * 2.0))
    assert _run(_write(by_id["f00154"], tmp_path), "0", "2")[0] == ("0", "None")
    # f00155 constant(80), corrupted for x <= -36.3
    assert ref("f00155")(0.0) == 80.0 and by_id["f00155"].ground_truth.domain == (-128.0, -36.3)
    # f00161 absolute((28.1, -9.0)): FIND serves 28.1*|x|, bias dropped, in script and reference
    assert ref("f00161")(-2.0) == pytest.approx(56.2)
    assert by_id["f00161"].ground_truth.metadata["absolute_bias_dropped"] is True
    # f00157 root((19.1, 1.5, 1)) = 19.1*x + 1.5
    assert ref("f00157")(4.0) == pytest.approx(19.1 * 4 + 1.5)
    # every clean rebuilt script prints the reference values
    clean = next(f for f in find_rebuild if f.variant == "clean" and f.ground_truth.label == "polynomial")
    pairs = _run(_write(clean, tmp_path), "1", "2.5", "-3")
    assert [float(o) for _, o in pairs] == [compile_function(clean.ground_truth.code)(x) for x in (1, 2.5, -3)]


@needs_find
def test_find_rebuild_rejects_mlp_and_unknown():
    record = json.loads((FIND_DIR / "data.json").read_text())[0]
    with pytest.raises(ValueError, match="MLP"):
        parse_record(record, "load_mlp.py")
    with pytest.raises(ValueError, match="family"):
        parse_record(record | {"name": "spline((1.0,))"}, "function_code.py")
