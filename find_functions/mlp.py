"""The MLP-approximated variant: a 1-64-1 ReLU MLP per function, trained in one batch.

FIND serves 15% of its numeric functions through a small MLP trained on the function's domain
(`load_mlp.py` + `mlp_approx_model.pt`), from a random start, one by one, 10,000 full-batch Adam
steps each: far too slow for a suite built on a 2-core machine. Here instead:

1. every MLP starts from a least-squares hinge fit: a 1-64-1 ReLU net is exactly a piecewise-linear
   function with 64 hinges, so placing the hinges where the function bends (density ~ |f''|^0.4,
   the optimal rate for piecewise-linear approximation; a few placements tried) and solving for the
   output layer in closed form (weighted like the training loss: dense MSE + grid NMSE) fits most
   functions to NMSE ~1e-8 at once. This fit is also the cheap test of whether an MLP can follow
   the function at all (`MLPTarget.hinge_fit`): a square wave with 40 jumps cannot be;
2. the functions whose start is still poor (grid NMSE > RETRAIN_NMSE) are refined together as one
   batched torch model (tensors [n_functions, ...], `bmm`), with inputs and targets normalised per
   function, keeping each function's best weights by its NMSE on FIND's scoring grid;
3. the weights are folded back to raw units (a plain 1-64-1 MLP on x), stored as safetensors under
   FIND's state-dict names, and cached on disk keyed by a hash of the function and the recipe.

Serving needs only numpy: the script (`render_mlp_body`) reads the safetensors file itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HIDDEN = 64
ACCEPT_NMSE = 0.1  # FIND's threshold: code counts as right below it; every served MLP must pass it
SELECT_NMSE = 0.02  # a function goes to an MLP slot only if its hinge start fits at least this well
RETRAIN_NMSE = 1e-3  # hinge starts worse than this are refined by Adam
N_DENSE = 1024
REFINE = (600, 1e-3)  # (Adam steps, peak learning rate)
EVAL_EVERY = 25
RECIPE = f"hinge-ls+adam/h{HIDDEN}/n{N_DENSE}/refine{REFINE}/r{RETRAIN_NMSE}/v1"
WEIGHTS_FILE = "mlp.safetensors"  # next to the served script
WEIGHT_NAMES = ("layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias")  # FIND's MLP


def cache_dir() -> Path:
    return Path(os.environ.get("AIA_CACHE_DIR", Path.home() / ".cache" / "aia")) / "mlp"


def grid_in(domain: tuple[float, float]) -> np.ndarray:
    """FIND's scoring grid x = i + 0.5 (i in -128..127) restricted to `domain`."""
    g = np.arange(-128, 128) + 0.5
    return g[(g >= domain[0]) & (g <= domain[1])]


def nmse(pred: np.ndarray, ref: np.ndarray) -> float:
    """FIND's NMSE: sum((ref - pred)^2) / sum(ref^2) over the points where ref is finite."""
    ok = np.isfinite(ref)
    den = float(np.sum(ref[ok] ** 2))
    num = float(np.sum((ref[ok] - pred[ok]) ** 2))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den


@dataclass
class MLPWeights:
    """A 1-64-1 ReLU MLP in raw units: y = w2 . relu(w1 * x + b1) + b2."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: float
    grid_nmse: float  # on FIND's grid within the domain, against the true function
    dense_nmse: float  # on the dense training points

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, 1)
        return np.maximum(x * self.w1 + self.b1, 0.0) @ self.w2 + self.b2


@dataclass
class MLPTarget:
    """One function to approximate: dense samples of its domain plus FIND's grid points in it."""

    key: str
    domain: tuple[float, float]
    x: np.ndarray  # training inputs (finite targets only)
    y: np.ndarray
    x_grid: np.ndarray
    y_grid: np.ndarray

    @classmethod
    def from_function(cls, fn: Callable[[float], float], domain: tuple[float, float], key: str) -> MLPTarget:
        lo, hi = domain
        if not hi > lo:
            raise ValueError(f"empty domain {domain}")
        xg = grid_in(domain)
        x = np.union1d(np.linspace(lo, hi, N_DENSE), xg)
        y = np.array([_safe(fn, v) for v in x])
        yg = np.array([_safe(fn, v) for v in xg])
        ok = np.isfinite(y)
        if ok.sum() < 16:
            raise ValueError(f"{key}: fewer than 16 finite values on {domain}")
        return cls(key, (float(lo), float(hi)), x[ok], y[ok], xg, yg)

    @property
    def cache_key(self) -> str:
        return hashlib.sha256(f"{self.key}|{RECIPE}".encode()).hexdigest()[:32]

    def norm(self) -> tuple[float, float, float, float]:
        """(x centre, x half-width, y mean, y std) used to normalise this function's data."""
        c = (self.domain[0] + self.domain[1]) / 2
        h = (self.domain[1] - self.domain[0]) / 2
        m, s = float(np.mean(self.y)), float(np.std(self.y))
        return c, h, m, (s if s > 0 else 1.0)

    def hinge_fit(self) -> tuple[np.ndarray, float]:
        """Least-squares hinge start: (params [w1, b1, w2, b2] normalised, its grid NMSE)."""
        with single_thread_blas():
            return self._hinge_fit()

    def _hinge_fit(self) -> tuple[np.ndarray, float]:
        c, h, m, s = self.norm()
        u, z = (self.x - c) / h, (self.y - m) / s
        ok = np.isfinite(self.y_grid)
        ug, zg = (self.x_grid[ok] - c) / h, (self.y_grid[ok] - m) / s
        # Rows weighted as the training loss: dense MSE + grid NMSE (s * residual / ||y_grid||).
        # (An all-zero grid has no NMSE scale: weigh its rows like the dense ones.)
        grid_norm = float(np.sqrt(np.sum(self.y_grid[ok] ** 2)))
        grid_scale = min(s / grid_norm, 1e6) if grid_norm > 0 else 1 / np.sqrt(len(u))
        weights = np.concatenate([np.full(len(u), 1 / np.sqrt(len(u))), np.full(len(ug), grid_scale)])
        inputs, outputs = np.concatenate([u, ug]), np.concatenate([z, zg])
        best: tuple[np.ndarray, float] | None = None
        for knots in _knot_sets(u, z):
            w1 = np.ones(HIDDEN)
            b1 = np.concatenate([[1.05], -knots])  # unit 0: a hinge left of the domain = linear term
            design = np.concatenate([np.maximum(inputs[:, None] * w1 + b1, 0.0),
                                     np.ones((len(inputs), 1))], axis=1)
            sol = _least_squares(design * weights[:, None], outputs * weights)
            params = np.concatenate([w1, b1, sol[:-1], sol[-1:]])
            err = nmse(_raw_predict(params, self.x_grid, (c, h, m, s)), self.y_grid)
            if best is None or err < best[1]:
                best = (params, err)
        return best


def single_thread_blas():
    """Limit BLAS to one thread: these matrices are small, and on a busy machine a multi-threaded
    BLAS spends 20x longer spinning than computing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        return contextlib.nullcontext()
    return threadpool_limits(1)


def _least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Ridge-stabilised normal equations: ~100x faster than an SVD solve, ample for a start."""
    gram = a.T @ a
    gram[np.diag_indices_from(gram)] += 1e-10 * np.trace(gram) / len(gram) + 1e-300
    try:
        return np.linalg.solve(gram, a.T @ b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, b, rcond=None)[0]


def _safe(fn: Callable[[float], float], x: float) -> float:
    try:
        return float(fn(float(x)))
    except (ArithmeticError, ValueError, TypeError):
        return math.nan


def _knot_sets(u: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
    """Candidate placements of the 63 hinges: uniform, and equidistributing |f''|^0.4."""
    n = HIDDEN - 1
    quantiles = (np.arange(n) + 0.5) / n
    sets = [-1 + 2 * quantiles]
    d2 = np.zeros_like(z)
    du = np.diff(u)
    slope = np.diff(z) / np.where(du > 0, du, 1)
    d2[1:-1] = np.abs(np.diff(slope)) / np.maximum((du[1:] + du[:-1]) / 2, 1e-12)
    dens = (d2 * np.gradient(u)) ** 0.4  # mass per sample point
    if dens.sum() > 0:
        for floor in (0.1, 0.5):
            mix = (1 - floor) * dens / dens.sum() + floor * np.gradient(u) / 2
            cdf = np.cumsum(mix)
            sets.append(np.interp(quantiles * cdf[-1], cdf, u))
    return sets


def _raw_predict(params: np.ndarray, x: np.ndarray, norm: tuple[float, float, float, float]) -> np.ndarray:
    c, h, m, s = norm
    w1, b1, w2, b2 = params[:HIDDEN], params[HIDDEN:2 * HIDDEN], params[2 * HIDDEN:3 * HIDDEN], params[-1]
    u = (np.asarray(x, dtype=np.float64) - c) / h
    return s * (np.maximum(u[:, None] * w1 + b1, 0.0) @ w2 + b2) + m


def to_raw(params: np.ndarray, target: MLPTarget) -> MLPWeights:
    """Fold the normalisation into the weights: a plain MLP on raw x giving raw y."""
    c, h, m, s = target.norm()
    w1, b1, w2, b2 = params[:HIDDEN], params[HIDDEN:2 * HIDDEN], params[2 * HIDDEN:3 * HIDDEN], params[-1]
    raw = MLPWeights(w1=w1 / h, b1=b1 - w1 * c / h, w2=s * w2, b2=float(s * b2 + m),
                     grid_nmse=math.nan, dense_nmse=math.nan)
    raw.grid_nmse = nmse(raw(target.x_grid), target.y_grid)
    raw.dense_nmse = nmse(raw(target.x), target.y)
    return raw


# --------------------------------------------------------------------------------------------
# Batched training
# --------------------------------------------------------------------------------------------

def train_mlps(targets: list[MLPTarget], use_cache: bool = True) -> list[MLPWeights]:
    """Weights for each target: from the on-disk cache, else trained (all misses in one batch)."""
    out: list[MLPWeights | None] = [None] * len(targets)
    todo = []
    for i, t in enumerate(targets):
        cached = _load_cached(t) if use_cache else None
        if cached is not None:
            out[i] = cached
        else:
            todo.append(i)
    if todo:
        starts = [targets[i].hinge_fit()[0] for i in todo]
        trained = _refine([targets[i] for i in todo], np.stack(starts))
        for i, params in zip(todo, trained):
            out[i] = to_raw(params, targets[i])
            if use_cache:
                _store(targets[i], out[i])
    return out  # type: ignore[return-value]


def _refine(targets: list[MLPTarget], starts: np.ndarray) -> np.ndarray:
    """Adam on the poorly fitted functions at once, from their hinge starts; best by grid NMSE.

    Functions whose hinge start already fits FIND's grid to NMSE <= RETRAIN_NMSE keep it: gradient
    steps from there change nothing measurable and cost minutes on a busy 2-core machine.
    """
    errors = np.array([nmse(_raw_predict(p, t.x_grid, t.norm()), t.y_grid) for p, t in zip(starts, targets)])
    poor = np.flatnonzero(errors > RETRAIN_NMSE)
    if len(poor) == 0:
        return starts
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic reductions, and polite on a shared machine
    try:
        torch.manual_seed(0)
        batch = _Batch([targets[i] for i in poor])
        params = torch.tensor(starts[poor], dtype=torch.float64)
        best, _ = _adam(batch, params, params.clone(), batch.grid_nmse(params), *REFINE)
        out = starts.copy()
        out[poor] = best.numpy()
        return out
    finally:
        torch.set_num_threads(threads)


class _Batch:
    """Padded, normalised data of several functions as [n_functions, n_points] tensors."""

    def __init__(self, targets: list[MLPTarget]):
        import torch

        norms = [t.norm() for t in targets]
        n = max(len(t.x) for t in targets)
        g = max(len(t.x_grid) for t in targets)
        u = np.zeros((len(targets), n))
        z = np.zeros((len(targets), n))
        mask = np.zeros((len(targets), n))
        ug = np.zeros((len(targets), g))
        yg = np.zeros((len(targets), g))
        gmask = np.zeros((len(targets), g))
        for i, (t, (c, h, m, s)) in enumerate(zip(targets, norms)):
            u[i, : len(t.x)] = (t.x - c) / h
            z[i, : len(t.x)] = (t.y - m) / s
            mask[i, : len(t.x)] = 1.0 / len(t.x)
            ok = np.isfinite(t.y_grid)
            ug[i, : ok.sum()] = (t.x_grid[ok] - c) / h
            yg[i, : ok.sum()] = t.y_grid[ok]
            gmask[i, : ok.sum()] = 1.0

        def as_t(a):
            return torch.tensor(a, dtype=torch.float64)

        self.u, self.z, self.mask = as_t(u), as_t(z), as_t(mask)
        self.ug, self.yg, self.gmask = as_t(ug), as_t(yg), as_t(gmask)
        self.m = as_t([nm[2] for nm in norms])[:, None]
        self.s = as_t([nm[3] for nm in norms])[:, None]

    @staticmethod
    def forward(params, u):
        import torch

        w1, b1 = params[:, :HIDDEN], params[:, HIDDEN:2 * HIDDEN]
        w2, b2 = params[:, 2 * HIDDEN:3 * HIDDEN], params[:, -1:]
        hidden = torch.relu(u[:, :, None] * w1[:, None, :] + b1[:, None, :])  # [B, N, H]
        return torch.bmm(hidden, w2[:, :, None]).squeeze(-1) + b2  # [B, N]

    def loss(self, params):
        """Dense-sample MSE (normalised units) plus the scoring metric itself, the grid NMSE."""
        dense = (((self.forward(params, self.u) - self.z) ** 2) * self.mask).sum()
        pred = self.forward(params, self.ug) * self.s + self.m
        num = (((pred - self.yg) ** 2) * self.gmask).sum(1)
        den = ((self.yg ** 2) * self.gmask).sum(1).clamp_min(1e-300)
        return dense + (num / den).sum()

    def grid_nmse(self, params):
        import torch

        with torch.no_grad():
            pred = self.forward(params, self.ug) * self.s + self.m
            num = (((pred - self.yg) ** 2) * self.gmask).sum(1)
            den = ((self.yg ** 2) * self.gmask).sum(1)
            return torch.where(den > 0, num / den.clamp_min(1e-300), torch.where(num > 0, math.inf, 0.0))


def _adam(batch: _Batch, params, best, best_err, steps: int, lr: float):
    """Adam with a cosine-decayed learning rate; keeps the best params per function."""
    import torch

    params = params.clone().requires_grad_(True)
    opt = torch.optim.Adam([params], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 100)
    for step in range(1, steps + 1):
        opt.zero_grad()
        batch.loss(params).backward()
        opt.step()
        sched.step()
        if step % EVAL_EVERY == 0 or step == steps:
            err = batch.grid_nmse(params)
            better = err < best_err
            best[better] = params.detach()[better]
            best_err = torch.where(better, err, best_err)
    return best, best_err


# --------------------------------------------------------------------------------------------
# Weights on disk (safetensors, FIND's state-dict names) and the serving script
# --------------------------------------------------------------------------------------------

def to_safetensors(w: MLPWeights) -> bytes:
    """Serialise as safetensors, byte-for-byte reproducible (the `safetensors` package writes its
    metadata map in random order, which would make equal weights differ as files)."""
    tensors = {
        "layers.0.weight": w.w1.reshape(HIDDEN, 1),
        "layers.0.bias": w.b1.reshape(HIDDEN),
        "layers.2.weight": w.w2.reshape(1, HIDDEN),
        "layers.2.bias": np.array([w.b2]),
    }
    header: dict = {"__metadata__": {"grid_nmse": repr(w.grid_nmse), "dense_nmse": repr(w.dense_nmse),
                                     "recipe": RECIPE}}
    blobs, offset = [], 0
    for name in sorted(tensors):
        blob = np.ascontiguousarray(tensors[name], dtype="<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format aligns the data to 8 bytes
    return len(text).to_bytes(8, "little") + text + b"".join(blobs)


def from_safetensors(data: bytes) -> MLPWeights:
    tensors, meta = _read_safetensors(data)
    missing = [n for n in WEIGHT_NAMES if n not in tensors]
    if missing:
        raise ValueError(f"MLP weights lack {missing}")
    return MLPWeights(
        w1=tensors["layers.0.weight"].reshape(-1), b1=tensors["layers.0.bias"].reshape(-1),
        w2=tensors["layers.2.weight"].reshape(-1), b2=float(tensors["layers.2.bias"].reshape(-1)[0]),
        grid_nmse=float(meta.get("grid_nmse", "nan")), dense_nmse=float(meta.get("dense_nmse", "nan")),
    )


def _read_safetensors(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    dtypes = {"F64": "<f8", "F32": "<f4"}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return tensors, meta


def _load_cached(t: MLPTarget) -> MLPWeights | None:
    path = cache_dir() / f"{t.cache_key}.safetensors"
    try:
        return from_safetensors(path.read_bytes())
    except (OSError, ValueError, KeyError):
        return None


def _store(t: MLPTarget, w: MLPWeights) -> None:
    """Write atomically: parallel builds may share the cache."""
    d = cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{t.cache_key}.safetensors"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(to_safetensors(w))
    os.replace(tmp, path)


_MLP_BODY = '''import json
from pathlib import Path

import numpy as np

# A 1-64-1 ReLU MLP (FIND's state-dict names) approximating the function; inference in numpy.
_WEIGHTS = Path(__file__).parent / "{weights_file}"


def _load(path):
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    dtypes = {"F64": "<f8", "F32": "<f4"}
    out = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        buf = raw[8 + n + start:8 + n + end]
        out[name] = np.frombuffer(buf, dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


_P = _load(_WEIGHTS)
_W1 = _P["layers.0.weight"].reshape(-1)
_B1 = _P["layers.0.bias"].reshape(-1)
_W2 = _P["layers.2.weight"].reshape(-1)
_B2 = float(_P["layers.2.bias"].reshape(-1)[0])


def function_batch(xs):
    x = np.asarray(xs, dtype=np.float64).reshape(-1, 1)
    return (np.maximum(x * _W1 + _B1, 0.0) @ _W2 + _B2).tolist()


def function(x):
    return function_batch([float(x)])[0]
'''


def render_mlp_body() -> str:
    """Script body serving the MLP stored next to the script as `mlp.safetensors`."""
    return _MLP_BODY.replace("{weights_file}", WEIGHTS_FILE)
