"""Exemplar cache: streaming top-k equals a brute-force scan; resume equals one pass."""
import json
import random

import pytest
import torch
from safetensors.torch import load_file

from tools.activations import read_sites, unit_values
from tools.corpus import Corpus, load_corpus, token_windows
from tools.exemplars import _LayerState, build_cache, dataset_exemplars
from tools.models import tiny_model
from tools.units import SITES, Unit

torch.set_num_threads(1)
WORDS = ("the cat dog river bank money ran quickly over under green red house of and a "
         "music played loud quiet night morning bird flew sang water cold hot").split()


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama", n_layers=2, d_model=32, n_heads=4, d_mlp=64)


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(0)
    return Corpus("words", [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30)))
                            for _ in range(120)])


def _brute_force(model, ids, mask, layer, site):
    acts = read_sites(model, {"input_ids": ids}, [Unit(layer, site)])[Unit(layer, site)]
    vals = unit_values(model, Unit(layer, site), acts).masked_fill(~mask[..., None], float("-inf"))
    return vals.max(dim=1).values                                      # [N, W]


def test_streaming_topk_equals_brute_force(model, corpus, tmp_path):
    spec = build_cache(model, corpus, k=4, window=12, batch_size=7, root=tmp_path)
    ids, mask = spec.windows()
    for layer in range(2):
        st = _LayerState.load(model, layer, spec.layer_path(layer))
        assert st.complete and st.done == len(ids)
        for site in SITES:
            scores = _brute_force(model, ids, mask, layer, site)
            top = scores.topk(4, dim=0).values
            torch.testing.assert_close(st.t[f"{site}.top_values"], top, atol=1e-5, rtol=1e-5)
            # The stored windows really score what is stored (robust to ties).
            w = st.t[f"{site}.top_windows"]
            torch.testing.assert_close(scores.gather(0, w), top, atol=1e-5, rtol=1e-5)
            sample = st.t["sample_windows"]
            torch.testing.assert_close(st.t[f"{site}.sample_values"], scores[sample], atol=1e-5, rtol=1e-5)


def test_out_of_memory_halves_the_batch_and_gives_the_same_cache(model, corpus, tmp_path, monkeypatch):
    from tools import exemplars as ex_module

    whole = build_cache(model, corpus, layers=[1], k=4, window=16, root=tmp_path / "whole")
    real, sizes = ex_module.read_sites, []

    def small_device(m, inputs, sites):
        sizes.append(len(inputs["input_ids"]))
        if len(inputs["input_ids"]) > 5:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(m, inputs, sites)

    monkeypatch.setattr(ex_module, "read_sites", small_device)
    with pytest.warns(UserWarning, match="out of memory on cpu: reading 8 windows at a time"):
        halved = build_cache(model, corpus, layers=[1], k=4, window=16, batch_size=16, root=tmp_path / "halved")
    assert max(sizes[sizes.index(4):]) <= 4                                # stays halved
    a = load_file(whole.layer_path(1))
    b = load_file(halved.layer_path(1))
    assert a.keys() == b.keys()
    for key in (k for k in a if k.endswith("_values")):   # windows may differ only among tied (duplicate) ones
        assert torch.allclose(a[key], b[key], atol=1e-5, equal_nan=True), key


def test_interrupted_build_resumes_to_same_cache(model, corpus, tmp_path):
    full = build_cache(model, corpus, layers=[1], k=3, window=12, batch_size=5, root=tmp_path / "a")

    def interrupt(done, total):
        if done >= 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_cache(model, corpus, layers=[1], k=3, window=12, batch_size=5, root=tmp_path / "b",
                    checkpoint_every=2, progress=interrupt)
    partial = _LayerState.load(model, 1, (tmp_path / "b").joinpath(
        full.layer_path(1).relative_to(tmp_path / "a")))
    assert not partial.complete and 0 < partial.done < 40
    # Resume with another batch size: batches straddle the checkpoint.
    resumed = build_cache(model, corpus, layers=[1], k=3, window=12, batch_size=7, root=tmp_path / "b")
    a = _LayerState.load(model, 1, full.layer_path(1)).t
    b = _LayerState.load(model, 1, resumed.layer_path(1)).t
    ids, mask = resumed.windows()
    for key in a:
        if key.endswith("values") or key == "sample_windows":
            torch.testing.assert_close(a[key], b[key])
    for site in SITES:       # windows may differ only between equal scores (ties)
        scores = _brute_force(model, ids, mask, 1, site)
        torch.testing.assert_close(scores.gather(0, b[f"{site}.top_windows"]), a[f"{site}.top_values"])


def test_dataset_exemplars_top_random_quantiles(model, corpus, tmp_path):
    ex = dataset_exemplars(model, "layer.1.mlp.neuron.5", k=3, corpus=corpus, window=12,
                           root=tmp_path, n_random=4)
    scores = [e.score for e in ex.top]
    assert scores == sorted(scores, reverse=True) and len(ex.top) == 3
    assert len(ex.random) == 4 and [e.quantile for e in ex.quantiles] == [0.25, 0.5, 0.75, 0.9, 0.99]
    assert max(e.score for e in ex.random + ex.quantiles) <= scores[0] + 1e-6
    q = [e.score for e in ex.quantiles]
    assert q == sorted(q)
    for e in ex.top:
        assert len(e.values) == len(e.tokens) == 12
    with pytest.raises(ValueError, match="one unit"):
        dataset_exemplars(model, "layer.1.mlp.neuron.0:3", corpus=corpus, root=tmp_path)


def test_user_corpus_files(tmp_path):
    (tmp_path / "c.jsonl").write_text(json.dumps({"text": "hello there"}) + "\n\n" +
                                      json.dumps({"text": "second doc"}) + "\n")
    assert load_corpus(tmp_path / "c.jsonl").documents == ["hello there", "second doc"]
    (tmp_path / "c.txt").write_text("one line\n\ntwo line\n")
    assert load_corpus(tmp_path / "c.txt").documents == ["one line", "two line"]
    (tmp_path / "bad.jsonl").write_text('["no"]\n')
    with pytest.raises(ValueError, match="'text' string"):
        load_corpus(tmp_path / "bad.jsonl")
    with pytest.raises(FileNotFoundError, match="default"):
        load_corpus(tmp_path / "missing.txt")


def test_parquet_and_saved_hf_datasets(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets", reason="hf: corpora need the datasets package (the test extra has it)")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["the river", "", "a mill"], "n": [1, 2, 3]}), tmp_path / "c.parquet")
    assert load_corpus(tmp_path / "c.parquet").documents == ["the river", "a mill"]
    pq.write_table(pa.table({"body": ["x"]}), tmp_path / "other.parquet")
    with pytest.raises(ValueError, match=r"no 'text' column \(it has \['body'\]\)"):
        load_corpus(tmp_path / "other.parquet")
    datasets.Dataset.from_dict({"text": [f"doc {i}" for i in range(5)]}).save_to_disk(str(tmp_path / "one"))
    one = load_corpus(f"hf:{tmp_path / 'one'}", max_documents=3)
    assert one.documents == ["doc 0", "doc 1", "doc 2"] and one.name == "hf-one[:3]"
    splits = {name: datasets.Dataset.from_dict({"text": [name[0]]}) for name in ("train", "validation")}
    datasets.DatasetDict(splits).save_to_disk(str(tmp_path / "two"))
    assert load_corpus(f"hf:{tmp_path / 'two'}::validation").documents == ["v"]
    assert load_corpus(f"hf:{tmp_path / 'two'}").documents == ["t"]          # train by default
    with pytest.raises(ValueError, match=r"no split 'test' \(it has \['train', 'validation'\]\)"):
        load_corpus(f"hf:{tmp_path / 'two'}::test")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")                                # a hub name: refused at once
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE is set"):
        load_corpus("hf:someone/some-dataset")
    (tmp_path / "c.parquet.bak").write_text("x")
    with pytest.raises(ValueError, match=r"expected 'default', a .txt, .jsonl or .parquet file, or hf:"):
        load_corpus(tmp_path / "c.parquet.bak")


def test_windows_mask_special_tokens(model):
    ids, mask = token_windows(Corpus("x", ["a b c d e f g h"] * 4), model.tokenizer, window=8)
    assert ids.shape[1] == 8
    assert (ids[:, 0] == model.tokenizer.cls_token_id).all() and not mask[:, 0].any()
    assert not mask[:, -1].any()


def test_default_corpus_has_a_million_words():
    corpus = load_corpus("default")
    assert corpus.n_words() > 1_000_000
    assert any("Anarchism" in d for d in corpus.documents[:50])


def test_check_corpus_refuses_without_reading(tmp_path, monkeypatch):
    from tools.corpus import check_corpus

    check_corpus("default")
    (tmp_path / "c.txt").write_text("a\n")
    check_corpus(tmp_path / "c.txt")
    with pytest.raises(FileNotFoundError, match="not found; pass 'default', a .txt"):
        check_corpus(tmp_path / "missing.txt")
    (tmp_path / "c.csv").write_text("a\n")
    with pytest.raises(ValueError, match="expected 'default'"):
        check_corpus(tmp_path / "c.csv")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE is set"):
        check_corpus("hf:someone/some-dataset")
    (tmp_path / "saved").mkdir()
    check_corpus(f"hf:{tmp_path / 'saved'}")      # a local directory: read later, not now
