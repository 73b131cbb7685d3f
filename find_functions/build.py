"""Build a whole suite: one generator per category, written to disk in FIND's layout.

The default suite (FIND's counts, seed 0) is built once and cached, so `aia bench --suite default`
costs the build only the first time.
"""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable

from rich.console import Console

from .layout import MANIFEST, write_suite
from .spec import CATEGORIES, FIND_COUNTS, Category, SuiteFunction

Generator = Callable[[int, int], list[SuiteFunction]]


def _generator(category: Category) -> Generator:
    """Import lazily: the entity generator loads an embedding model, the numeric one trains MLPs."""
    if category == "numeric":
        from .numeric import generate_numeric as gen
    elif category == "strings":
        from .strings import generate_strings as gen
    elif category == "neurons_entities":
        from .entities import generate_entities as gen
    else:
        from .relations import generate_relations as gen
    return gen


def cache_dir() -> Path:
    return Path(os.environ.get("AIA_CACHE_DIR", Path.home() / ".cache" / "aia"))


def build_suite(out: Path, seed: int = 0, categories: Iterable[Category] | None = None,
                counts: dict[Category, int] | None = None, force: bool = False,
                console: Console | None = None) -> Path:
    """Generate the chosen categories (FIND's counts unless `counts` overrides) and write them."""
    console = console or Console(stderr=True)
    chosen = list(categories or CATEGORIES)
    functions: list[SuiteFunction] = []
    timings: dict[str, float] = {}
    for category in chosen:
        n = (counts or {}).get(category, FIND_COUNTS[category])
        start = time.perf_counter()
        with console.status(f"generating {n} {category} functions (seed {seed})"):
            functions.extend(_generator(category)(seed, n))
        timings[category] = round(time.perf_counter() - start, 2)
        console.print(f"[green]✓[/] {category}: {n} functions in {timings[category]:.1f} s")
    manifest = {
        "seed": seed,
        "aia_version": metadata.version("aia") if _installed() else "source",
        "python": platform.python_version(),
        "build_seconds": timings,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return write_suite(functions, Path(out), manifest, force=force)


def _installed() -> bool:
    try:
        metadata.version("aia")
        return True
    except metadata.PackageNotFoundError:
        return False


def default_suite(seed: int = 0, console: Console | None = None) -> Path:
    """The full default suite for `seed`, built on first use under the aia cache directory."""
    path = cache_dir() / "suites" / f"default-seed{seed}"
    if not (path / MANIFEST).is_file():
        build_suite(path, seed=seed, force=True, console=console)
    return path


def build_find_numeric_suite(find_numeric_dir: Path, out: Path, force: bool = False,
                             console: Console | None = None) -> Path:
    """FIND's own 850 non-MLP numeric functions, rebuilt from its public metadata, as an aia suite."""
    from .find_numeric import rebuild_find_numeric

    folder = Path(find_numeric_dir)
    data = folder / "data.json"
    if not data.is_file():
        raise FileNotFoundError(f"{data} is missing: pass FIND's numeric folder "
                                "(with data.json and func_name_dict.json)")
    names = folder / "func_name_dict.json"
    functions = rebuild_find_numeric(data, names if names.is_file() else None)
    manifest = {"seed": None, "source": f"FIND numeric metadata at {folder}",
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (console or Console(stderr=True)).print(f"rebuilt {len(functions)} FIND numeric functions")
    return write_suite(functions, Path(out), manifest, force=force)
