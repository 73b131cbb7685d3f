"""Rendering of FIND-style scripts: `python function_code.py a b c` prints
`Function input - output pairs: (a, out) (b, out) (c, out) `.

Every served function is such a script defining `function(x)` (and optionally
`function_batch(xs)` when a batched evaluation is much faster). The black-box worker imports the
same script instead of running it per call, so the script on disk is the single source of truth
for what a function does.
"""

from __future__ import annotations

from typing import Literal

InputType = Literal["float", "str"]

_MAIN = '''

if __name__ == "__main__":
    import sys

    _pairs = []
    for _arg in sys.argv[1:]:
        try:
            _out = function({convert})
        except Exception:
            _out = None
        _pairs.append("(" + _arg + ", " + str(_out) + ")")
    print("Function input - output pairs: " + " ".join(_pairs) + " ")
'''


def render_script(body: str, input_type: InputType, docstring: str = "A FIND-style black-box function.") -> str:
    """Wrap `body` (which must define `function(x)`) into a runnable FIND-style script."""
    if "def function(" not in body and "function =" not in body:
        raise ValueError("script body must define `function(x)`")
    convert = "float(_arg)" if input_type == "float" else "_arg"
    return f'"""{docstring}"""\n\n{body.rstrip()}\n' + _MAIN.format(convert=convert)
