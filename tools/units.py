"""The one address grammar for units, shared by every tool, the CLI and the reports.

    layer.L.resid                   the residual stream after block L (all dims)
    layer.L.resid.dim.I             one residual dimension
    layer.L.mlp                     all MLP neurons of block L
    layer.L.mlp.neuron.I            one MLP neuron (input of the down-projection)
    layer.L.attn                    all attention heads of block L
    layer.L.attn.head.H             one head (its slice of the out-projection input)

An index may be a single integer, a half-open range ``A:B`` (as in Python: ``0:50`` is
neurons 0..49) or a comma list ``1,5,9``.  Layers count from 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.models import SubjectModel

SITES = ("resid", "mlp", "attn")
INDEX_WORD = {"resid": "dim", "mlp": "neuron", "attn": "head"}
_ORDER = {"attn": 0, "mlp": 1, "resid": 2}  # forward order within a block

_RE = re.compile(r"^layer\.(\d+)\.(resid|mlp|attn)(?:\.(dim|neuron|head)\.([0-9:,]+))?$")


class UnitError(ValueError):
    """An address that does not parse or does not exist in the model; says what does."""


@dataclass(frozen=True)
class Unit:
    """A parsed address.  ``indices`` is None for a whole site."""

    layer: int
    site: str
    indices: tuple[int, ...] | None = None

    def __str__(self) -> str:
        base = f"layer.{self.layer}.{self.site}"
        if self.indices is None:
            return base
        return f"{base}.{INDEX_WORD[self.site]}.{_format_indices(self.indices)}"

    @property
    def is_single(self) -> bool:
        return self.indices is not None and len(self.indices) == 1

    def order_key(self) -> tuple[int, int]:
        """Forward-execution order, for touching modules in order inside one trace."""
        return (self.layer, _ORDER[self.site])

    def site_unit(self) -> "Unit":
        return Unit(self.layer, self.site, None)


def _format_indices(idx: tuple[int, ...]) -> str:
    if len(idx) > 1 and list(idx) == list(range(idx[0], idx[-1] + 1)):
        return f"{idx[0]}:{idx[-1] + 1}"
    return ",".join(str(i) for i in idx)


def _parse_indices(text: str, address: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in text.split(","):
        if ":" in part:
            a, _, b = part.partition(":")
            if not a.isdigit() or not b.isdigit() or int(b) <= int(a):
                raise UnitError(f"bad range {part!r} in {address!r}: write A:B with A < B "
                                f"(half-open, e.g. 0:50)")
            out.extend(range(int(a), int(b)))
        elif part.isdigit():
            out.append(int(part))
        else:
            raise UnitError(f"bad index {part!r} in {address!r}")
    return tuple(out)


def parse_unit(address: "str | Unit") -> Unit:
    """Parse an address (syntax only; see ``validate`` for existence in a model)."""
    if isinstance(address, Unit):
        return address
    m = _RE.match(address.strip())
    if m is None:
        raise UnitError(
            f"cannot parse unit address {address!r}; expected one of "
            "layer.L.resid[.dim.I], layer.L.mlp[.neuron.I], layer.L.attn[.head.H], "
            "with I a number, a range A:B or a list a,b,c (e.g. layer.3.mlp.neuron.117, "
            "layer.5.attn.head.2, layer.4.resid, layer.3.mlp.neuron.0:50)")
    layer, site, word, idx = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    if word is not None and word != INDEX_WORD[site]:
        raise UnitError(f"{address!r}: units of {site} are indexed by "
                        f"'{INDEX_WORD[site]}', not '{word}' "
                        f"(e.g. layer.{layer}.{site}.{INDEX_WORD[site]}.0)")
    return Unit(layer, site, None if idx is None else _parse_indices(idx, address))


def validate(address: "str | Unit", model: "SubjectModel") -> Unit:
    """Parse and check against the model; the error says which layers/indices exist."""
    unit = parse_unit(address)
    if not 0 <= unit.layer < model.n_layers:
        raise UnitError(f"{address}: {model.name} has layers 0..{model.n_layers - 1} "
                        f"(e.g. layer.{model.n_layers - 1}.{unit.site})")
    width = model.site_width(unit.site)
    if unit.indices is not None:
        bad = [i for i in unit.indices if i >= width]
        if bad:
            word = INDEX_WORD[unit.site]
            raise UnitError(f"{address}: {model.name} layer {unit.layer} {unit.site} has "
                            f"{word}s 0..{width - 1} (layer.{unit.layer}.{unit.site}.{word}.0:{width}); "
                            f"{bad[:5]} do not exist")
    return unit


def list_units(model: "SubjectModel | str") -> list[str]:
    """Every site of the model in compact range form, in forward order (for `aia units`).

    ``model`` may be a loaded model or anything ``load_model`` accepts (short name, hub
    name, path).
    """
    if isinstance(model, str):
        from tools.models import load_model
        model = load_model(model)
    out = []
    for layer in range(model.n_layers):
        for site in sorted(SITES, key=_ORDER.get):
            width = model.site_width(site)
            out.append(str(Unit(layer, site, tuple(range(width)))))
    return out


def expand(address: "str | Unit", model: "SubjectModel") -> list[Unit]:
    """All single units an address covers (a whole site expands to every element)."""
    unit = validate(address, model)
    idx = unit.indices if unit.indices is not None else range(model.site_width(unit.site))
    return [Unit(unit.layer, unit.site, (i,)) for i in idx]
