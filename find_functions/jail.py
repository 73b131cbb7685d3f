"""What a foreign function script may see while it runs: its own files, nothing else of the suite.

A function directory in FIND's release layout holds the script, the data the script reads (an MLP's
weights, found through `__file__`) and, in a suite aia built, the answers: `ground_truth.json` and
`held_out.json`. A script from an official FIND release is code we cannot trust, so it runs under
`tools.isolation`, and its jail binds that directory's other entries one by one, read-only, at
their own absolute paths: `__file__`-relative loading works as on the host, while the sealed files,
the category's metadata (FIND's descriptions in `test_data.json`) and the other functions are not
there at all. Binding the directory whole would show them.
"""

from __future__ import annotations

from pathlib import Path

from tools.isolation import Jail

from .layout import GROUND_TRUTH, HELD_OUT

#: Files of a function directory that its script must never see.
SEALED_FILES = frozenset({GROUND_TRUTH, HELD_OUT})


def visible_files(script: Path) -> list[tuple[Path, str]]:
    """(host file, path inside) for each entry of `script`'s directory but the sealed files.

    The inside path is the entry's own absolute path; the host file is what it resolves to, so a
    symlink is bound as its target, and one that points at a sealed file is left out like the file.
    """
    fdir = Path(script).resolve().parent
    out = []
    for entry in sorted(fdir.iterdir()):
        target = entry.resolve()
        if entry.name not in SEALED_FILES and target.name not in SEALED_FILES and target.exists():
            out.append((target, str(fdir / entry.name)))
    return out


def function_jail(script: Path) -> Jail:
    """The jail of one foreign function: its visible files, read-only, at their own paths."""
    return Jail(read_only=list(visible_files(script)))
