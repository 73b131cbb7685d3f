"""Units that are not neurons: SAE latents and directions read off a site's activation.

    layer.6.resid.sae.latent.1234        latent 1234 of the SAE attached to layer 6's residual stream
    layer.6.resid.sae                    every latent of that SAE
    layer.6.resid.direction.honesty      the projection of the residual onto a named direction

A *basis* turns a site's activation vector (what `tools.activations.read_sites` reads: the block
output for `resid`, the neuron activations for `mlp`, the heads' concatenated outputs for
`attn`) into unit values, and gives each unit a vector in the site's space to steer along or
ablate. Two kinds:

- `SAE`: a sparse autoencoder's encoder, in the formats people publish: SAELens (`cfg.json` +
  `sae_weights.safetensors`: ReLU "standard", JumpReLU, TopK) and EleutherAI sparsify
  (`cfg.json` + `sae.safetensors`: TopK over ReLU). A latent's activation is its encoder output;
  its direction is its decoder row.
- `Direction`: one vector (a probe, a steering vector) from `.pt`, `.npy` or `.safetensors`;
  the unit's activation is the projection onto the unit vector, its direction that unit vector.

A basis is attached to a loaded model for one site (`SubjectModel.attach`); the unit grammar
(tools.units) then accepts its addresses, and every tool that reads units reads these too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch

if TYPE_CHECKING:
    from tools.models import SubjectModel

Activation = Literal["relu", "jumprelu", "topk"]


class FeatureError(ValueError):
    """A basis file that cannot be read or does not fit the site; the message says why."""


@dataclass
class SAE:
    """A sparse autoencoder over a site: `encode(x) = act(((x - b_dec) if centred else x) @ W_enc + b_enc)`."""

    W_enc: torch.Tensor            # [d_in, n]
    b_enc: torch.Tensor            # [n]
    W_dec: torch.Tensor            # [n, d_in]
    b_dec: torch.Tensor            # [d_in]
    activation: Activation = "relu"
    #: JumpReLU: a latent is active only above its threshold.
    threshold: torch.Tensor | None = None
    #: TopK: how many latents stay active per token.
    k: int | None = None
    #: Subtract the decoder bias before encoding (SAELens' apply_b_dec_to_input; sparify always does).
    centre_input: bool = False
    #: Where it was read from and in which format, for run records.
    source: str = ""
    format: str = ""
    _fingerprint: str | None = field(default=None, repr=False)

    kind = "sae"

    @property
    def d_in(self) -> int:
        return self.W_enc.shape[0]

    @property
    def width(self) -> int:
        return self.W_enc.shape[1]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent activations of `x` [..., d_in] -> [..., n]."""
        x = x.to(self.W_enc.dtype)
        pre = (x - self.b_dec if self.centre_input else x) @ self.W_enc + self.b_enc
        if self.activation == "jumprelu":
            assert self.threshold is not None
            return pre * (pre > self.threshold)
        acts = torch.relu(pre)
        if self.activation == "topk":
            assert self.k is not None
            top = acts.topk(min(self.k, acts.shape[-1]), dim=-1)
            acts = torch.zeros_like(acts).scatter(-1, top.indices, top.values)
        return acts

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return latents @ self.W_dec + self.b_dec

    def direction(self, i: int) -> torch.Tensor:
        """Latent `i`'s decoder row: what it adds to the site per unit of activation."""
        return self.W_dec[i]

    def describe(self) -> dict[str, object]:
        return {"kind": "sae", "format": self.format, "source": self.source, "d_in": self.d_in,
                "latents": self.width, "activation": self.activation, "k": self.k, "fingerprint": self.fingerprint()}

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            h = hashlib.sha256(f"{self.activation}:{self.k}:{self.centre_input}".encode())
            for t in (self.W_enc, self.b_enc, self.W_dec, self.b_dec, self.threshold):
                if t is not None:
                    h.update(t.detach().float().contiguous().numpy().tobytes())
            self._fingerprint = h.hexdigest()[:12]
        return self._fingerprint


@dataclass
class Direction:
    """One direction of a site: the unit's activation is `x . v / |v|`."""

    vector: torch.Tensor           # [d_in]
    name: str
    source: str = ""
    _fingerprint: str | None = field(default=None, repr=False)

    kind = "direction"

    @property
    def d_in(self) -> int:
        return self.vector.shape[0]

    @property
    def width(self) -> int:
        return 1

    @property
    def unit_vector(self) -> torch.Tensor:
        return self.vector / self.vector.norm()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[..., d_in] -> [..., 1]: the projection onto the direction."""
        return (x.to(self.vector.dtype) @ self.unit_vector)[..., None]

    def direction(self, i: int = 0) -> torch.Tensor:
        return self.unit_vector

    def describe(self) -> dict[str, object]:
        return {"kind": "direction", "name": self.name, "source": self.source, "d_in": self.d_in,
                "norm": float(self.vector.norm()), "fingerprint": self.fingerprint()}

    def fingerprint(self) -> str:
        if self._fingerprint is None:
            h = hashlib.sha256(self.name.encode())
            h.update(self.vector.detach().float().contiguous().numpy().tobytes())
            self._fingerprint = h.hexdigest()[:12]
        return self._fingerprint


Basis = SAE | Direction


def _tensor(weights: dict[str, torch.Tensor], key: str, path: Path) -> torch.Tensor:
    if key not in weights:
        raise FeatureError(f"{path}: no tensor {key!r} (it has {sorted(weights)})")
    return weights[key].float()


def load_sae(path: str | Path) -> SAE:
    """An SAE from a directory in SAELens or sparify layout (told apart by its weights file)."""
    from safetensors.torch import load_file

    root = Path(path).expanduser()
    cfg_path = root / "cfg.json"
    if not root.is_dir() or not cfg_path.is_file():
        raise FeatureError(f"{path}: expected a directory with cfg.json and sae_weights.safetensors (SAELens) "
                           "or sae.safetensors (EleutherAI sparsify)")
    try:
        cfg = json.loads(cfg_path.read_text())
    except json.JSONDecodeError as e:
        raise FeatureError(f"{cfg_path} is not valid JSON ({e})") from None
    if (root / "sae_weights.safetensors").is_file():
        file = root / "sae_weights.safetensors"
        w = load_file(str(file))
        arch = str(cfg.get("architecture") or cfg.get("activation_fn_str") or "standard").lower()
        activation: Activation = ("jumprelu" if arch == "jumprelu" else "topk" if arch == "topk" else "relu")
        if arch not in ("standard", "relu", "jumprelu", "topk"):
            raise FeatureError(f"{cfg_path}: architecture {arch!r} is not supported (standard/relu, jumprelu, topk)")
        threshold = None
        if activation == "jumprelu":
            threshold = (w["threshold"].float() if "threshold" in w
                         else _tensor(w, "log_threshold", file).exp())
        k = (cfg.get("activation_fn_kwargs") or {}).get("k", cfg.get("k")) if activation == "topk" else None
        if activation == "topk" and not k:
            raise FeatureError(f"{cfg_path}: a TopK SAE needs activation_fn_kwargs.k")
        sae = SAE(_tensor(w, "W_enc", file), _tensor(w, "b_enc", file), _tensor(w, "W_dec", file),
                  _tensor(w, "b_dec", file), activation, threshold, int(k) if k else None,
                  centre_input=bool(cfg.get("apply_b_dec_to_input", False)), source=str(root), format="saelens")
    elif (root / "sae.safetensors").is_file():
        file = root / "sae.safetensors"
        w = load_file(str(file))
        if not cfg.get("k"):
            raise FeatureError(f"{cfg_path}: a sparsify SAE's cfg.json needs k (latents kept per token)")
        enc = _tensor(w, "encoder.weight", file)                  # [n, d_in], as nn.Linear stores it
        sae = SAE(enc.T.contiguous(), _tensor(w, "encoder.bias", file), _tensor(w, "W_dec", file),
                  _tensor(w, "b_dec", file), "topk", None, int(cfg["k"]), centre_input=True, source=str(root),
                  format="sparsify")
    else:
        raise FeatureError(f"{root}: no sae_weights.safetensors (SAELens) or sae.safetensors (sparsify) "
                           "beside cfg.json")
    n, d = sae.W_enc.shape[1], sae.W_enc.shape[0]
    if sae.W_dec.shape != (n, d) or sae.b_enc.shape != (n,) or sae.b_dec.shape != (d,):
        raise FeatureError(f"{root}: inconsistent shapes W_enc {tuple(sae.W_enc.shape)}, W_dec "
                           f"{tuple(sae.W_dec.shape)}, b_enc {tuple(sae.b_enc.shape)}, b_dec {tuple(sae.b_dec.shape)}")
    return sae


def load_direction(path: str | Path, name: str | None = None) -> Direction:
    """A direction from `.pt` (a tensor, or a dict holding one), `.npy` or `.safetensors` (one tensor)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise FeatureError(f"{path}: no such file (a direction is a .pt, .npy or .safetensors vector)")
    suffix = file.suffix.lower()
    if suffix == ".npy":
        import numpy as np

        tensor = torch.from_numpy(np.load(file))
    elif suffix == ".pt":
        obj = torch.load(file, map_location="cpu", weights_only=True)
        tensor = _only_tensor(obj, file)
    elif suffix == ".safetensors":
        from safetensors.torch import load_file

        tensor = _only_tensor(load_file(str(file)), file)
    else:
        raise FeatureError(f"{path}: a direction is a .pt, .npy or .safetensors file, not {suffix or 'no suffix'}")
    tensor = tensor.float().squeeze()
    if tensor.dim() != 1 or not torch.isfinite(tensor).all() or float(tensor.norm()) == 0.0:
        raise FeatureError(f"{path}: a direction is one finite non-zero vector, got shape {tuple(tensor.shape)}")
    return Direction(tensor, name or file.stem, source=str(file))


def _only_tensor(obj: object, file: Path) -> torch.Tensor:
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, dict):
        tensors = [v for v in obj.values() if isinstance(v, torch.Tensor)]
        if len(tensors) == 1:
            return tensors[0]
        raise FeatureError(f"{file}: holds {len(tensors)} tensors ({sorted(map(str, obj))}); "
                           "a direction file holds one")
    raise FeatureError(f"{file}: holds a {type(obj).__name__}, not a tensor")


def attach(model: "SubjectModel", site: str, basis: Basis) -> str:
    """Attach an SAE or a direction to a whole site of `model` (`layer.6.resid`); returns the
    address of its units. A UnitError when it does not fit the site."""
    from tools.units import UnitError, validate

    unit = validate(site, model)
    if unit.indices is not None or unit.feature is not None:
        raise UnitError(f"attach to a whole site such as layer.{unit.layer}.{unit.site}, not {site}")
    width = model.site_dim(unit.site)
    if basis.d_in != width:
        raise UnitError(f"{basis.source or basis.kind}: reads vectors of {basis.d_in}, but {unit} of {model.name} "
                        f"has {width} per token")
    feature = "sae" if isinstance(basis, SAE) else f"direction.{basis.name}"
    key = f"{unit}.{feature}"
    model.features[key] = basis
    return key


def reconstruction_quality(model: "SubjectModel", site: str, sae: SAE, ids: torch.Tensor, mask: torch.Tensor,
                           batch_size: int = 32) -> dict[str, float]:
    """How well `sae` reconstructs `site` on the token windows `ids` (scorable tokens in `mask`):
    the fraction of variance explained (1 - residual / total variance around the mean), the mean
    number of active latents per token (L0), and the tokens measured. A labeler reads latents of
    an SAE that explains 60% of the variance differently from one that explains 99%."""
    from tools.activations import read_sites
    from tools.units import parse_unit

    unit = parse_unit(site).site_unit()
    residual = total = active = 0.0
    count = 0
    xs: list[torch.Tensor] = []
    for start in range(0, len(ids), batch_size):
        act = read_sites(model, {"input_ids": ids[start:start + batch_size]}, [unit])[unit]
        x = (act.flatten(-2) if unit.site == "attn" else act)[mask[start:start + batch_size]].float()
        latents = sae.encode(x)
        residual += float(((sae.decode(latents) - x) ** 2).sum())
        active += float((latents > 0).sum())
        count += len(x)
        xs.append(x)
    if count == 0:
        raise FeatureError("no scorable tokens to measure the reconstruction on")
    every = torch.cat(xs)
    total = float(((every - every.mean(0)) ** 2).sum())
    return {"variance_explained": 1 - residual / total, "l0": active / count, "tokens": count}
