"""SAE latents and directions as units (tools.features): file formats, the unit grammar, and every
tool that reads or intervenes on units, checked against the same computation done by hand."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tools.activations import call_unit, read_sites
from tools.corpus import Corpus
from tools.exemplars import CacheSpec, dataset_exemplars
from tools.features import FeatureError, attach, load_direction, load_sae
from tools.interventions import ablate, steer
from tools.models import tiny_model
from tools.units import Unit, UnitError, expand, list_units, parse_unit, unit_noun, validate

TEXTS = ["the river bank flows past a stone mill", "old town walls near green fields"]
D, N = 32, 24


def random_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"W_enc": torch.randn(D, N, generator=g) * 0.3, "b_enc": torch.randn(N, generator=g) * 0.1,
            "W_dec": torch.randn(N, D, generator=g) * 0.3, "b_dec": torch.randn(D, generator=g) * 0.1}


def saelens_dir(tmp_path: Path, architecture: str = "standard", **cfg) -> Path:
    path = tmp_path / f"saelens-{architecture}"
    path.mkdir(exist_ok=True)
    weights = random_weights()
    if architecture == "jumprelu":
        weights["threshold"] = torch.full((N,), 0.2)
    save_file(weights, str(path / "sae_weights.safetensors"))
    (path / "cfg.json").write_text(json.dumps({"d_in": D, "d_sae": N, "architecture": architecture,
                                               "apply_b_dec_to_input": True, **cfg}))
    return path


def sparsify_dir(tmp_path: Path, k: int = 4) -> Path:
    path = tmp_path / "sparsify"
    path.mkdir()
    w = random_weights()
    save_file({"encoder.weight": w["W_enc"].T.contiguous(), "encoder.bias": w["b_enc"], "W_dec": w["W_dec"],
               "b_dec": w["b_dec"]}, str(path / "sae.safetensors"))
    (path / "cfg.json").write_text(json.dumps({"d_in": D, "num_latents": N, "k": k, "expansion_factor": 1}))
    return path


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", n_layers=2, d_model=D, n_heads=4, d_mlp=64)


@pytest.fixture
def sae_model(model, tmp_path):
    model.features.clear()
    attach(model, "layer.1.resid", load_sae(saelens_dir(tmp_path)))
    yield model
    model.features.clear()


def test_the_grammar_round_trips_and_names_what_is_missing(model):
    for address in ("layer.6.resid.sae.latent.1234", "layer.6.resid.sae", "layer.2.mlp.sae.latent.0:8",
                    "layer.6.resid.direction.honesty"):
        assert str(parse_unit(address)) == address
    assert parse_unit("layer.6.resid.direction.honesty").is_single
    assert [unit_noun(a) for a in ("layer.0.mlp.neuron.1", "layer.0.attn.head.1", "layer.0.resid.sae.latent.3",
                                   "layer.0.resid.direction.x")] == ["neuron", "head", "latent", "direction"]
    model.features.clear()
    with pytest.raises(UnitError, match=r"nothing is attached as layer.1.resid.sae.*--sae layer.L.SITE=PATH"):
        validate("layer.1.resid.sae.latent.0", model)


def test_saelens_and_sparsify_encoders_match_their_formulas(tmp_path):
    w = random_weights()
    x = torch.randn(5, D)
    centred = x - w["b_dec"]
    standard = load_sae(saelens_dir(tmp_path))
    assert torch.allclose(standard.encode(x), torch.relu(centred @ w["W_enc"] + w["b_enc"]), atol=1e-6)
    jump = load_sae(saelens_dir(tmp_path, "jumprelu"))
    pre = centred @ w["W_enc"] + w["b_enc"]
    assert torch.allclose(jump.encode(x), pre * (pre > 0.2), atol=1e-6)
    topk = load_sae(saelens_dir(tmp_path, "topk", activation_fn_kwargs={"k": 3}))
    assert ((topk.encode(x) > 0).sum(-1) <= 3).all()
    sparse = load_sae(sparsify_dir(tmp_path, k=4))
    dense = torch.relu(centred @ w["W_enc"] + w["b_enc"])
    kept = sparse.encode(x)
    assert ((kept > 0).sum(-1) <= 4).all() and torch.allclose(kept.max(-1).values, dense.max(-1).values)
    assert sparse.format == "sparsify" and standard.describe()["latents"] == N
    with pytest.raises(FeatureError, match="architecture 'gated' is not supported"):
        load_sae(saelens_dir(tmp_path, "gated"))
    with pytest.raises(FeatureError, match="expected a directory with cfg.json"):
        load_sae(tmp_path / "nowhere")


def test_attaching_checks_the_width_and_lists_the_units(model, tmp_path):
    model.features.clear()
    with pytest.raises(UnitError, match="reads vectors of 32, but layer.1.mlp of .* has 64 per token"):
        attach(model, "layer.1.mlp", load_sae(saelens_dir(tmp_path)))
    assert attach(model, "layer.1.resid", load_sae(saelens_dir(tmp_path))) == "layer.1.resid.sae"
    assert f"layer.1.resid.sae.latent.0:{N}" in list_units(model)
    assert len(expand("layer.1.resid.sae", model)) == N
    with pytest.raises(UnitError, match=f"latents 0..{N - 1}"):
        validate(f"layer.1.resid.sae.latent.{N}", model)
    model.features.clear()


def test_latent_and_direction_activations_are_the_encoder_on_the_site(sae_model, tmp_path):
    site = read_sites(sae_model, sae_model.tokenize(TEXTS[:1]), [Unit(1, "resid")])[Unit(1, "resid")][0]
    sae = sae_model.features["layer.1.resid.sae"]
    got = call_unit(sae_model, "layer.1.resid.sae.latent.0:5", TEXTS[:1])[0].values
    assert np.allclose(got, sae.encode(site)[:, :5].numpy(), atol=1e-5)
    vector = torch.randn(D)
    np.save(tmp_path / "probe.npy", vector.numpy())
    assert attach(sae_model, "layer.1.resid", load_direction(tmp_path / "probe.npy")) == "layer.1.resid.direction.probe"
    projection = call_unit(sae_model, "layer.1.resid.direction.probe", TEXTS[:1])[0].values
    assert np.allclose(projection, (site @ (vector / vector.norm())).numpy(), atol=1e-5)
    with pytest.raises(FeatureError, match="one finite non-zero vector"):
        torch.save(torch.zeros(D), tmp_path / "zero.pt")
        load_direction(tmp_path / "zero.pt")


def test_exemplar_cache_scores_latents_in_its_own_file(sae_model, tmp_path):
    corpus = Corpus("words", [f"{w} " * 6 for w in "river bank stone mill green field town wall".split()] * 4)
    spec = CacheSpec(sae_model, corpus, 12, None, tmp_path)
    ids, mask = spec.windows()
    site = read_sites(sae_model, {"input_ids": ids}, [Unit(1, "resid")])[Unit(1, "resid")]
    acts = sae_model.features["layer.1.resid.sae"].encode(site).masked_fill(~mask[..., None], float("-inf"))
    best = acts.max(1).values                                            # [windows, latents]
    latent = int(best.max(0).values.argmax())
    ex = dataset_exemplars(sae_model, f"layer.1.resid.sae.latent.{latent}", k=3, corpus=corpus, window=12,
                           root=tmp_path)
    assert spec.layer_path(1).name.startswith("layer1-features-") and spec.layer_path(1).exists()
    expected = best[:, latent].topk(3)
    assert [e.score for e in ex.top] == pytest.approx(expected.values.tolist(), abs=1e-5)
    assert ex.top[0].score > 0 and ex.top[0].score == pytest.approx(np.nanmax(ex.top[0].values), abs=1e-6)


def test_ablating_and_steering_a_latent_act_along_its_decoder_row(sae_model):
    sae = sae_model.features["layer.1.resid.sae"]
    inputs = sae_model.tokenize(TEXTS)
    site = read_sites(sae_model, inputs, [Unit(1, "resid")])[Unit(1, "resid")]
    latent = int(sae.encode(site).sum((0, 1)).argmax())                 # the most active latent here
    contribution = sae.encode(site)[..., latent:latent + 1] * sae.direction(latent)

    def hooked_kl(shift: torch.Tensor) -> list[float]:
        block = sae_model.block(1)
        handle = block.register_forward_hook(lambda m, a, out: (out[0] + shift,) + tuple(out[1:])
                                             if isinstance(out, tuple) else out + shift)
        try:
            with torch.no_grad():
                after = sae_model.model(**inputs).logits.float()
        finally:
            handle.remove()
        with torch.no_grad():
            before = sae_model.model(**inputs).logits.float()
        last = inputs["attention_mask"].sum(1) - 1
        rows = torch.arange(len(TEXTS))
        po, pa = before[rows, last].log_softmax(-1), after[rows, last].log_softmax(-1)
        return (po.exp() * (po - pa)).sum(-1).tolist()

    r = ablate(sae_model, f"layer.1.resid.sae.latent.{latent}", TEXTS)
    assert max(r.kl) > 0 and r.kl == pytest.approx(hooked_kl(-contribution), abs=1e-5)
    along = steer(sae_model, f"layer.1.resid.sae.latent.{latent}", torch.ones(1), 3.0, TEXTS)
    same = steer(sae_model, "layer.1.resid", sae.direction(latent), 3.0, TEXTS)
    assert along.kl == pytest.approx(same.kl, abs=1e-6) and along.site == f"layer.1.resid.sae.latent.{latent}"


def test_reconstruction_quality_is_one_for_an_exact_sae_and_low_for_a_random_one(model, tmp_path):
    from tools.features import SAE, reconstruction_quality

    eye = torch.eye(D)
    exact = SAE(torch.cat([eye, -eye], 1), torch.zeros(2 * D), torch.cat([eye, -eye], 0), torch.zeros(D))
    ids = model.tokenize(TEXTS)["input_ids"]
    mask = model.tokenize(TEXTS)["attention_mask"].bool()
    quality = reconstruction_quality(model, "layer.1.resid", exact, ids, mask)
    assert quality["variance_explained"] == pytest.approx(1.0, abs=1e-5) and quality["tokens"] == int(mask.sum())
    assert 0 < quality["l0"] <= D                             # each coordinate lights one of its two latents
    noisy = reconstruction_quality(model, "layer.1.resid", load_sae(saelens_dir(tmp_path)), ids, mask)
    assert noisy["variance_explained"] < 0.5


# ----------------------------------------------------------------------------- end to end, on MiniLM

def _train_minilm_sae(out: Path) -> tuple[Path, Path]:
    """A corpus, and a small ReLU SAE trained here (seconds) on MiniLM's layer-3 residual, saved
    in SAELens' layout."""
    import random

    from tools.models import load_model

    rng = random.Random(0)
    subjects = ["the dog", "a cat", "my brother", "the teacher", "the old man", "a young girl", "the king"]
    verbs = ["walked to", "looked at", "painted", "sold", "bought", "found", "visited", "cleaned"]
    objects = ["the market", "a red house", "the green field", "an old church", "a small boat", "the forest"]
    days = ["monday", "friday", "sunday", "a rainy day", "the weekend"]
    lines = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} on {rng.choice(days)}."
             for _ in range(300)]
    corpus = out / "corpus.txt"
    corpus.write_text("\n".join(lines))
    minilm = load_model("minilm")
    ids = minilm.tokenize(lines[:150])
    x = read_sites(minilm, ids, [Unit(3, "resid")])[Unit(3, "resid")][ids["attention_mask"].bool()].float()
    torch.manual_seed(0)
    w_enc = torch.nn.Parameter(torch.randn(x.shape[1], 16) * 0.05)
    b_enc = torch.nn.Parameter(torch.zeros(16))
    w_dec = torch.nn.Parameter(w_enc.detach().T.clone())
    b_dec = torch.nn.Parameter(x.mean(0).clone())
    opt = torch.optim.Adam([w_enc, b_enc, w_dec, b_dec], lr=5e-3)
    for _ in range(200):
        f = torch.relu((x - b_dec) @ w_enc + b_enc)
        loss = ((f @ w_dec + b_dec - x) ** 2).sum(-1).mean() + 0.3 * f.sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    sae = out / "sae"
    sae.mkdir()
    save_file({"W_enc": w_enc.detach().contiguous(), "b_enc": b_enc.detach(), "W_dec": w_dec.detach().contiguous(),
               "b_dec": b_dec.detach()}, str(sae / "sae_weights.safetensors"))
    (sae / "cfg.json").write_text(json.dumps({"d_in": x.shape[1], "d_sae": 16, "architecture": "standard",
                                              "apply_b_dec_to_input": True}))
    return corpus, sae


def test_aia_label_labels_sae_latents_of_minilm_with_every_score(tmp_path):
    import subprocess
    import sys

    corpus, sae = _train_minilm_sae(tmp_path)
    env = {**__import__("os").environ, "AIA_CACHE_DIR": str(tmp_path / "cache")}
    cli = [sys.executable, "-m", "evals.cli"]
    listing = subprocess.run(cli + ["units", "minilm", "--sae", f"layer.3.resid={sae}"], capture_output=True,
                             text=True, env=env, timeout=300)
    assert listing.returncode == 0 and "layer.3.resid.sae.latent.0:16" in listing.stdout
    run = subprocess.run(cli + ["label", "--model", "minilm", "--units", "layer.3.resid.sae.latent.0:2",
                                "--sae", f"layer.3.resid={sae}", "--corpus", str(corpus), "--max-windows", "200",
                                "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "run" / "labels.jsonl").read_text().splitlines()]
    assert [r["unit"] for r in rows] == ["layer.3.resid.sae.latent.0", "layer.3.resid.sae.latent.1"]
    for row in rows:
        assert row["kind"] == "latent" and row["label"]
        for score in ("simulation", "detection", "fuzzing", "causal_contrast"):
            assert row["scores"][score] is not None and row["baselines"]["random"]["scores"][score] is not None
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    recorded = config["config"]["features"]["layer.3.resid.sae"]
    assert recorded["format"] == "saelens" and 0 < recorded["variance_explained"] <= 1 and recorded["l0"] > 0
    bad = subprocess.run(cli + ["label", "--model", "minilm", "--units", "layer.3.mlp.sae.latent.0",
                                "--sae", f"layer.3.mlp={sae}", "--out", str(tmp_path / "bad")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode == 2 and "reads vectors of 384, but layer.3.mlp of minilm has 1536" in bad.stderr
    assert [line.startswith("error: ") for line in bad.stderr.splitlines() if "Loading weights" not in line
            and line.strip()] == [True] and not (tmp_path / "bad").exists()
