"""The one address grammar for units, shared by every tool, the CLI and the reports.

    layer.L.resid                   the residual stream after block L (all dims)
    layer.L.resid.dim.I             one residual dimension
    layer.L.mlp                     all MLP neurons of block L
    layer.L.mlp.neuron.I            one MLP neuron (input of the down-projection)
    layer.L.attn                    all attention heads of block L
    layer.L.attn.head.H             one head (its slice of the out-projection input)
    layer.L.SITE.sae[.latent.I]     latents of the SAE attached to that site (tools.features)
    layer.L.SITE.direction.NAME     the projection onto a named direction attached to that site

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

_RE = re.compile(r"^layer\.(\d+)\.(resid|mlp|attn)(?:\.(dim|neuron|head)\.([0-9:,]+)"
                 r"|\.(sae)(?:\.latent\.([0-9:,]+))?|\.direction\.([A-Za-z0-9_-]+))?$")


class UnitError(ValueError):
    """An address that does not parse or does not exist in the model; says what does."""


@dataclass(frozen=True)
class Unit:
    """A parsed address.  ``indices`` is None for a whole site (or every latent of an SAE).

    ``feature`` is None for the site's own elements, ``sae`` for latents of the SAE attached to
    the site, ``direction.NAME`` for a named direction (one unit, index 0)."""

    layer: int
    site: str
    indices: tuple[int, ...] | None = None
    feature: str | None = None

    def __str__(self) -> str:
        base = f"layer.{self.layer}.{self.site}"
        if self.feature is not None and self.feature.startswith("direction."):
            return f"{base}.{self.feature}"
        if self.feature == "sae":
            return f"{base}.sae" + ("" if self.indices is None else f".latent.{_format_indices(self.indices)}")
        if self.indices is None:
            return base
        return f"{base}.{INDEX_WORD[self.site]}.{_format_indices(self.indices)}"

    @property
    def basis_key(self) -> str:
        """The key of the attached basis a feature unit reads (`layer.6.resid.sae`)."""
        return f"layer.{self.layer}.{self.site}.{self.feature}"

    @property
    def cache_key(self) -> str:
        """The name of the unit's family in the exemplar cache of its layer (`resid`, `resid.sae`)."""
        return self.site if self.feature is None else f"{self.site}.{self.feature}"

    @property
    def family(self) -> "Unit":
        """Every unit of this unit's family: the whole site, or every unit of its basis."""
        return Unit(self.layer, self.site, None, self.feature)

    @property
    def is_single(self) -> bool:
        return self.indices is not None and len(self.indices) == 1

    def order_key(self) -> tuple[int, int]:
        """Forward-execution order, for touching modules in order inside one trace."""
        return (self.layer, _ORDER[self.site])

    def site_unit(self) -> "Unit":
        """The raw site whose activation the unit is read from (features dropped)."""
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
            "layer.L.SITE.sae[.latent.I], layer.L.SITE.direction.NAME, "
            "with I a number, a range A:B or a list a,b,c (e.g. layer.3.mlp.neuron.117, "
            "layer.5.attn.head.2, layer.4.resid, layer.3.mlp.neuron.0:50, layer.6.resid.sae.latent.1234)")
    layer, site, word, idx = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    if m.group(5) is not None:
        latents = m.group(6)
        return Unit(layer, site, None if latents is None else _parse_indices(latents, address), "sae")
    if m.group(7) is not None:
        return Unit(layer, site, (0,), f"direction.{m.group(7)}")
    if word is not None and word != INDEX_WORD[site]:
        raise UnitError(f"{address!r}: units of {site} are indexed by "
                        f"'{INDEX_WORD[site]}', not '{word}' "
                        f"(e.g. layer.{layer}.{site}.{INDEX_WORD[site]}.0)")
    return Unit(layer, site, None if idx is None else _parse_indices(idx, address))


def feature_units(model: "SubjectModel", layer: int, site: str | None = None) -> list[Unit]:
    """The attached families of units of `layer` (one Unit per SAE or direction), for listings and
    caches: a basis key is itself an address (`layer.6.resid.sae`, `layer.6.resid.direction.NAME`)."""
    return [parse_unit(key) for key in model.feature_keys(layer, site)]


def unit_noun(address: "str | Unit") -> str:
    """What one unit of an address is called (label rows record it): neuron, head, dim, latent or direction."""
    unit = parse_unit(address)
    if unit.feature is not None:
        return "latent" if unit.feature == "sae" else "direction"
    return INDEX_WORD[unit.site]


def validate(address: "str | Unit", model: "SubjectModel") -> Unit:
    """Parse and check against the model; the error says which layers/indices exist."""
    unit = parse_unit(address)
    if not 0 <= unit.layer < model.n_layers:
        raise UnitError(f"{address}: {model.name} has layers 0..{model.n_layers - 1} "
                        f"(e.g. layer.{model.n_layers - 1}.{unit.site})")
    if unit.feature is not None:
        basis = model.features.get(unit.basis_key)
        if basis is None:
            attached = ", ".join(sorted(model.features)) or "none"
            how = ("--sae layer.L.SITE=PATH" if unit.feature == "sae" else "--direction layer.L.SITE=PATH")
            raise UnitError(f"{address}: nothing is attached as {unit.basis_key} (attached: {attached}); "
                            f"attach it with {how}")
        bad = [i for i in unit.indices or () if i >= basis.width]
        if bad:
            raise UnitError(f"{address}: the SAE on layer.{unit.layer}.{unit.site} has latents 0..{basis.width - 1}; "
                            f"{bad[:5]} do not exist")
        return unit
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
            for unit in feature_units(model, layer, site):
                out.append(str(unit if unit.is_single else Unit(layer, site, tuple(range(
                    model.features[unit.basis_key].width)), unit.feature)))
    return out


def expand(address: "str | Unit", model: "SubjectModel") -> list[Unit]:
    """All single units an address covers (a whole site expands to every element)."""
    unit = validate(address, model)
    idx = unit.indices if unit.indices is not None else range(model.unit_width(unit))
    return [Unit(unit.layer, unit.site, (i,), unit.feature) for i in idx]
