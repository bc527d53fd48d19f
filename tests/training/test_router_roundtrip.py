"""train -> router directory -> load: the same decisions, a complete manifest, honest metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from routing_fixtures import LLMS, SAMPLE, read_jsonl, small_router, small_scores, write_jsonl  # noqa: F401 - fixtures

from llmrouter.cli import main
from llmrouter.training.data import load_llms, load_scores, sha256_of
from llmrouter.training.featurizer import fit_featurizer
from llmrouter.training.fitting import fit_router, transform_many
from llmrouter.training.router_dir import load_router, save_router


def test_featurizer_equals_scikit_learn_tfidf(small_scores):
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["query"] for r in read_jsonl(small_scores)]
    featurizer, matrix = fit_featurizer(texts)
    reference = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=r"(?u)\b\w\w+\b")
    expected = reference.fit_transform(texts)
    assert featurizer.terms == reference.get_feature_names_out().tolist()
    np.testing.assert_allclose(featurizer.idf, reference.idf_)
    assert abs(matrix - expected).max() < 1e-9
    # ...and the numpy path that serving uses, one text at a time
    assert abs(transform_many(featurizer, texts) - expected).max() < 1e-9
    indices, values = featurizer.transform(read_jsonl(SAMPLE)[0]["query"])
    assert len(indices) and abs(np.linalg.norm(values) - 1) < 1e-9
    assert featurizer.transform("")[0].size == 0


@pytest.mark.parametrize("kind", ["knn", "linear"])
def test_saved_router_decides_like_the_fitted_one(tmp_path, small_scores, kind):
    llms = load_llms(LLMS)
    data = load_scores(small_scores, llms)
    result = fit_router(data, kind, folds=2)
    path = save_router(
        tmp_path / kind, featurizer=result.featurizer, kind=result.kind, models=data.models, model_cost=result.model_cost,
        prices={m: {"input_price": llms[m].input_price, "output_price": llms[m].output_price} for m in data.models},
        cost_weight=result.cost_weight, metrics=result.metrics, seen=result.train.queries, data={"rows": len(data.queries)},
    )
    router = load_router(path)
    queries = [r["query"] for r in read_jsonl(SAMPLE)]
    in_memory = result.kind.predict_many(transform_many(result.featurizer, queries))
    loaded = np.array([router.predict(q) for q in queries])
    np.testing.assert_allclose(loaded, in_memory, rtol=1e-5, atol=1e-6)
    for weight in (0.0, 0.1, 1.0):
        expected = [data.models[j] for j in router.picks(in_memory, weight)]
        assert [router.choose(q, weight) for q in queries] == expected
    # Price dominates at a huge cost_weight: always the cheapest candidate (gemma-2-9b-it, $0.1).
    assert {router.choose(q, 100.0) for q in queries} == {"gemma-2-9b-it"}


def test_manifest_metrics_route_and_eval(tmp_path, capsys, small_scores, small_router):
    manifest = json.loads((small_router / "manifest.json").read_text())
    assert manifest["kind"] == "knn" and len(manifest["models"]) == 9
    assert manifest["featurizer"]["name"] == "tfidf-words-1-2" and manifest["featurizer"]["version"] == 1
    assert manifest["data"]["sha256"] == sha256_of(small_scores)
    assert manifest["data"]["rows"] == 701 and manifest["data"]["trained_rows"] == 561
    assert manifest["created"] and set(manifest["files"]) >= {"vocabulary.json", "idf.npy", "knn_data.npy", "metrics.json"}
    metrics = json.loads((small_router / "metrics.json").read_text())
    assert metrics["rows"] == 561 and metrics["method"] == "3-fold cross-validation"
    assert metrics["oracle"]["quality"] >= max(m["quality"] for m in metrics["models"].values())
    assert [p["cost_weight"] for p in metrics["router"]][:2] == [0.0, 0.01]

    # route: one line per input line, in order, as the loaded router decides
    queries = [r["query"] for r in read_jsonl(SAMPLE)[:30]]
    out = tmp_path / "routes.jsonl"
    assert main(["route", "--router", str(small_router), "--input", str(SAMPLE), "--cost-weight", "0.05", "--output", str(out)]) == 0
    routes = read_jsonl(out)
    router = load_router(small_router)
    assert [r["query"] for r in routes[:30]] == queries
    assert [r["model"] for r in routes[:30]] == [router.choose(q, 0.05) for q in queries]

    # eval on the same file: only the 140 held-out rows; single models computed independently
    capsys.readouterr()
    plot = tmp_path / "curve.png"
    assert main(["eval", "--router", str(small_router), "--scores", str(small_scores), "--json", "--plot", str(plot)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 140 and summary["left_out_seen_in_training"] == 561
    trained = set(_trained_queries(small_router, read_jsonl(small_scores)))
    held_out = [r for r in read_jsonl(small_scores) if r["query"] not in trained]
    assert len(held_out) == 140
    for model in ("gemma-2-9b-it", "llama-3.1-nemotron-51b-instruct"):
        assert summary["models"][model]["quality"] == pytest.approx(np.mean([r["scores"][model] for r in held_out]))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # a file the router was entirely trained on cannot be evaluated (it would flatter it)
    trained_only = write_jsonl(tmp_path / "trained.jsonl", [r for r in read_jsonl(small_scores) if r not in held_out])
    assert main(["eval", "--router", str(small_router), "--scores", str(trained_only)]) == 2
    assert "every complete row was used to train" in capsys.readouterr().err


def _trained_queries(router_dir, rows):
    from llmrouter.training.router_dir import query_hashes

    seen = set(np.load(router_dir / "seen_queries.npy").tolist())
    hashes = query_hashes([r["query"] for r in rows]).tolist()
    return [r["query"] for r, h in zip(rows, hashes) if h in seen]


def test_train_takes_prices_from_a_config(tmp_path, capsys, small_scores):
    import yaml

    prices = json.loads(LLMS.read_text())
    llms = {name: {"provider": "vllm", "model": e["model"], "base_url": "http://127.0.0.1:9/v1",
                   "input_price": e["input_price"] * 2, "output_price": e["output_price"] * 2} for name, e in prices.items()}
    config = tmp_path / "gw.yaml"
    config.write_text(yaml.safe_dump({"llms": llms}))
    out = tmp_path / "router"
    assert main(["train", "--scores", str(small_scores), "--config", str(config), "--out", str(out), "--folds", "2"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["prices"]["gemma-2-9b-it"] == {"input_price": 0.2, "output_price": 0.2}
    assert manifest["model_cost"]["gemma-2-9b-it"] == pytest.approx(0.2)  # no `cost` in the rows: the price

    del llms["codegemma-7b"]
    config.write_text(yaml.safe_dump({"llms": llms}))
    capsys.readouterr()
    assert main(["train", "--scores", str(small_scores), "--config", str(config), "--out", str(tmp_path / "r2")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {small_scores}, line 1: unknown model 'codegemma-7b' (not among the candidates:")


@pytest.mark.parametrize("kind", ["knn", "linear"])
def test_pairs_missing_from_the_data_are_not_trained_on(tmp_path, small_scores, kind):
    """`generate` leaves out a pair whose call failed: training uses the rest of the row."""
    rows = read_jsonl(small_scores)
    for i, row in enumerate(rows):
        if i % 3 == 0:
            del row["scores"]["llama-3.1-nemotron-51b-instruct"]
    scores = write_jsonl(tmp_path / "gappy.jsonl", rows)
    out = tmp_path / kind
    assert main(["train", "--scores", str(scores), "--llms", str(LLMS), "--out", str(out), "--router", kind, "--folds", "2"]) == 0
    router = load_router(out)
    assert json.loads((out / "metrics.json").read_text())["rows"] == len(rows) - len(rows[::3])  # complete rows only
    assert all(np.isfinite(router.predict(r["query"])).all() for r in read_jsonl(SAMPLE)[:20])
