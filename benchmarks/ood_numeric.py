"""An out-of-family numeric dev set: black boxes from no family list in aia, nor in FIND.

    python benchmarks/ood_numeric.py --out /tmp/ood_numeric [--set holdout|fresh|unseen]
    aia bench --suite find:/tmp/ood_numeric --category numeric --out RUN

The builtin scientist is tuned on FIND's families; the question that matters is whether it
discovers structure it was never told about. These functions are compositions of primitives
(decaying and chirped oscillations, envelopes, saturations, periodic remainders, integer parts,
roots of |x|) written in FIND's release layout (`numeric/fNNNNN/<script>` plus
`func_name_dict.json`, no ground truth), so `aia bench --suite find:DIR` serves and scores them as
it would an official release: the strict score's noise-free reference is the average of repeated
calls of the served script. A ground-truth listing (`truth.json` at the root, outside the
category folder, so no black box can see it) records each expression for reading results.

Scripts use only `math` and `random`, like FIND's own, so they run in the confined worker.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

#: (expression in x using `math`, noise draw or None, a person's description). No entry is a FIND
#: family with its own parameterisation; each composes two or more primitives.
FUNCTIONS: tuple[tuple[str, str | None, str], ...] = (
    ("8.0 * math.exp(-abs(x) / 20.0) * math.sin(x / 2.0)", None,
     "a sine whose amplitude decays exponentially away from 0"),
    ("5.0 * math.sin(x * x / 20.0)", None, "a chirp: a sine whose frequency grows linearly with |x|"),
    ("0.5 * x * math.sin(x / 3.0)", None, "a sine whose amplitude grows linearly with |x|"),
    ("3.0 * math.copysign(math.sqrt(abs(x)), x)", None, "a signed square root, odd about 0"),
    ("10.0 * math.tanh(x / 5.0) + 0.25 * x", None, "a tanh saturation plus a shallow line"),
    ("4.0 * math.log(1.0 + x * x)", None, "a logarithm of 1 + x^2: even, growing like log|x|"),
    ("2.0 * math.floor(x / 3.0)", None, "a staircase of width 3 and height 2"),
    ("x % 7.0", None, "a sawtooth: x mod 7"),
    ("50.0 / (1.0 + (x / 4.0) ** 2)", None, "a Lorentzian bump of height 50 and half-width 4"),
    ("10.0 * math.exp(-x * x / 50.0) * math.cos(x)", None, "a cosine under a Gaussian envelope"),
    ("max(math.sin(x), 0.0) * x", None, "a half-wave rectified sine times x"),
    ("4.0 * math.copysign(abs(x) ** (1.0 / 3.0), x) + 2.0 * math.sin(x)", None, "a cube root plus a sine"),
    ("10.0 * abs(math.sin(x / 4.0))", None, "a rectified sine (|sin|) of period 4π"),
    ("3.0 * math.sin(x) + 5.0 * math.sin(x / 7.0)", None, "a sum of two sines of different periods"),
    ("20.0 * math.exp(-abs(x) / 15.0)", None, "a two-sided exponential decay (Laplace peak)"),
    ("2.0 ** (x / 20.0)", None, "exponential growth, doubling every 20"),
    ("(abs(x) % 10.0 - 5.0) ** 2", None, "a periodic parabola: (|x| mod 10 - 5)^2"),
    ("5.0 * (math.floor(x) % 2)", None, "parity of floor(x): 5 on odd integers' unit intervals, else 0"),
    ("x * math.exp(-x * x / 800.0)", None, "x damped by a wide Gaussian: rises, peaks at x = 20, decays"),
    ("min(abs(x), 30.0) * math.cos(x / 5.0)", None, "a cosine whose amplitude grows with |x| and saturates at 30"),
    ("20.0 * math.exp(-abs(x) / 40.0) * math.sin(x / 3.0)", "random.gauss(0.0, 1.0)",
     "a decaying sine with Gaussian noise"),
    ("3.0 * math.log(1.0 + x * x) + 2.0 * math.cos(x / 2.0)", "random.uniform(-1.0, 1.0)",
     "log(1 + x^2) plus a cosine, with uniform noise"),
)

#: A second set, written after the search was tuned on FUNCTIONS; its first run (12/14) led to two
#: fixes (an offset kept through products; a sawtooth's period from its jumps), so it is seen now.
HOLDOUT: tuple[tuple[str, str | None, str], ...] = (
    ("6.0 * math.cos(x / 4.0) * math.exp(-abs(x) / 50.0) + 2.0", None, "a slowly decaying cosine around 2"),
    ("3.0 * math.sin(x / 2.0) ** 2", None, "a squared sine: non-negative bumps of period 2π"),
    ("10.0 / (1.0 + math.exp(-x / 8.0))", None, "a logistic rise from 0 to 10 around 0"),
    ("abs(x) % 5.0", None, "a sawtooth of |x| with period 5, mirrored about 0"),
    ("0.01 * x * x * math.sin(x / 10.0)", None, "a sine whose amplitude grows like x²"),
    ("math.sqrt(abs(x)) * math.sin(x)", None, "a sine whose amplitude grows like sqrt|x|"),
    ("4.0 * math.sin(0.002 * x * x + 0.3 * x)", None, "an off-centre chirp"),
    ("x / (1.0 + abs(x) / 10.0)", None, "a soft saturation towards ±10"),
    ("5.0 * math.floor(x / 10.0) + x", None, "a line with a step of 5 every 10"),
    ("5.0 * math.copysign(math.log(abs(x) + 1.0), x)", None, "a signed logarithm, odd about 0"),
    ("2.0 * math.sin(x) + 0.002 * x * x", None, "a sine riding on a wide parabola"),
    ("12.0 * math.tanh(2.0 * math.sin(x / 3.0))", None, "a squashed sine (tanh of a sine)"),
    ("8.0 * math.exp(-((x - 20.0) / 10.0) ** 2)", None, "a Gaussian bump at 20"),
    ("5.0 * math.sqrt(abs(x)) * math.cos(x / 6.0)", "random.gauss(0.0, 1.0)",
     "a cosine with amplitude growing like sqrt|x|, with Gaussian noise"),
)

#: A third set, written after both sets above shaped the search; its first run (12/13) led to one
#: fix (phase seeds from the count of zero crossings).
FRESH: tuple[tuple[str, str | None, str], ...] = (
    ("7.0 * math.sin(x / 5.0) * math.sin(x / 50.0)", None, "beats: a sine under a slow sine envelope"),
    ("3.0 * math.exp(x / 40.0) * math.cos(x / 2.0)", None, "an oscillation growing exponentially to the right"),
    ("10.0 * x / math.sqrt(100.0 + x * x)", None, "an algebraic sigmoid from -10 to 10"),
    ("math.floor(x / 4.0) ** 2", None, "squares of a staircase of width 4"),
    ("4.0 * (x % 3.0) ** 2", None, "a periodic parabola segment of period 3"),
    ("15.0 * math.exp(-abs(x - 30.0) / 10.0)", None, "a Laplace peak at 30"),
    ("math.log(1.0 + abs(x)) * x / 4.0", None, "x times a logarithm of |x|"),
    ("6.0 * math.sin(x / 3.0) + 3.0 * math.cos(x / 7.0)", None, "two superposed waves"),
    ("50.0 * math.exp(-x * x / 200.0) - 20.0", None, "a Gaussian bump on a negative baseline"),
    ("(1.0 if math.sin(x / 4.0) > 0 else -1.0) * x / 2.0", None, "a square wave whose amplitude grows with |x|"),
    ("2.0 * math.sqrt(abs(x - 10.0))", None, "a square-root cusp at 10"),
    ("9.0 * math.cos(2.0 * math.sqrt(abs(x)))", None, "a wave slowing down away from 0 (cos of sqrt|x|)"),
    ("10.0 * math.tanh(x / 20.0) * math.cos(x / 2.0)", "random.uniform(-1.0, 1.0)",
     "a cosine under a tanh envelope, with uniform noise"),
)

#: A fourth set, written after the three above had all shaped the search (FRESH's one failure led
#: to phase seeds from the count of zero crossings), and run once, untuned.
UNSEEN: tuple[tuple[str, str | None, str], ...] = (
    ("5.0 * math.sin(x / 4.0) ** 3", None, "a cubed sine"),
    ("10.0 * math.exp(-abs(x) / 30.0) * math.cos(x / 3.0) + 0.05 * x", None, "a decaying cosine on a shallow line"),
    ("8.0 * math.sin(math.exp(x / 60.0))", None, "a sine of an exponential: ever faster to the right"),
    ("3.0 * abs(math.sin(x / 6.0)) - abs(x) / 20.0", None, "a rectified sine on a shallow V"),
    ("20.0 / (1.0 + math.exp(-(x - 40.0) / 5.0))", None, "a logistic step at 40"),
    ("math.floor(x / 5.0) % 3", None, "a staircase of width 5 cycling through 0, 1, 2"),
    ("4.0 * math.tanh(x / 10.0) ** 2", None, "an even saturation towards 4"),
    ("x * math.cos(x / 8.0) / 10.0 + 5.0", None, "a cosine growing linearly with |x|, around 5"),
    ("6.0 * math.cos(x / 4.0) * (1.0 if x > 0 else 0.5)", None, "a cosine with twice the amplitude for x > 0"),
    ("2.0 * math.log(1.0 + math.exp(x / 10.0))", None, "a softplus"),
    ("math.sqrt(abs(x)) * math.log(1.0 + abs(x))", None, "sqrt|x| times log(1 + |x|)"),
    ("7.0 * math.sin(x / 6.0) + x / 10.0", "random.gauss(0.0, 1.0)", "a sine on a line, with Gaussian noise"),
)

_SCRIPT = '''"""An out-of-family black box (aia benchmarks/ood_numeric.py)."""
import math
import random


def function(x):
    return {body}


if __name__ == "__main__":
    import sys

    _pairs = []
    for _arg in sys.argv[1:]:
        try:
            _out = function(float(_arg))
        except Exception:
            _out = None
        _pairs.append("(" + _arg + ", " + str(_out) + ")")
    print("Function input - output pairs: " + " ".join(_pairs) + " ")
'''


def write_suite(out: Path, functions: tuple[tuple[str, str | None, str], ...] = FUNCTIONS) -> Path:
    """Write the FIND-layout directory; the truth listing sits at the root, beside `numeric/`."""
    if out.exists():
        shutil.rmtree(out)
    cdir = out / "numeric"
    cdir.mkdir(parents=True)
    names: dict[str, str] = {}
    truth = {}
    for i, (expr, noise, words) in enumerate(functions):
        fid = f"f{i:05d}"
        (cdir / fid).mkdir()
        body = f"({expr}) + {noise}" if noise else f"({expr})"
        script = "noised_function_code.py" if noise else "function_code.py"
        (cdir / fid / script).write_text(_SCRIPT.format(body=body), encoding="utf-8")
        names[fid] = script
        truth[fid] = {"expression": expr, "noise": noise, "description": words}
    (cdir / "func_name_dict.json").write_text(json.dumps(names, indent=1) + "\n", encoding="utf-8")
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/ood_numeric"))
    parser.add_argument("--set", choices=("dev", "holdout", "fresh", "unseen"), default="dev",
                        help="dev: the set the search was developed on; holdout, fresh: later sets whose "
                             "failures led to fixes; unseen: the last, run once without tuning")
    args = parser.parse_args()
    functions = {"dev": FUNCTIONS, "holdout": HOLDOUT, "fresh": FRESH, "unseen": UNSEEN}[args.set]
    print(f"wrote {len(functions)} functions to {write_suite(args.out, functions)}")


if __name__ == "__main__":
    main()
