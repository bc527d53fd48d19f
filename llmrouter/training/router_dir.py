"""The router directory: what ``llmrouter train`` writes and ``route``/``eval``/``serve`` load.

::

    DIR/manifest.json    kind, settings, candidates and their mean cost, featurizer name and
                         version, default cost_weight, data hash and row count, time, and the
                         sha256 of every other file
    DIR/metrics.json     held-out (cross-validated) quality and cost, see fitting.py
    DIR/vocabulary.json, DIR/idf.npy        the fitted featurizer
    DIR/<kind>_*.npy                        the fitted router (numpy arrays, never pickle)
    DIR/seen_queries.npy                    64-bit hashes of the training queries, so that
                                            `eval` can leave out queries the router has seen

Loading checks everything before the first decision: a missing or changed file, a featurizer
version this code does not produce, an unknown kind. Each failure is one :class:`RouterLoadError`
line naming the file and the problem; there is no fallback to a random pick.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from llmrouter.training import decision
from llmrouter.training import featurizer as features
from llmrouter.training.data import sha256_of
from llmrouter.training.kinds import KINDS, Kind

__all__ = ["FORMAT", "FORMAT_VERSION", "RouterLoadError", "TrainedRouter", "load_router", "query_hashes", "save_router"]

FORMAT = "llmrouter.trained-router"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
METRICS = "metrics.json"
SEEN = "seen_queries.npy"


class RouterLoadError(ValueError):
    """A router directory that cannot be used: one line naming the file and the problem."""


def query_hashes(queries: list[str]) -> np.ndarray:
    """64-bit digests of the queries (to recognize training queries, not to recover them)."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(q.encode("utf-8"), digest_size=8).digest(), "little") for q in queries],
        dtype=np.uint64,
    )


class TrainedRouter:
    """A loaded router: ``choose(text)`` -> model name, ``predict(text)`` -> score per model.

    A model's utility is its predicted score minus ``cost_weight`` x its mean cost relative to
    the most expensive candidate: ``cost_weight`` 0 picks the best predicted quality, 1 gives
    up a whole point of expected score (the full 0..1 range) to save the top model's cost.
    """

    def __init__(self, path: Path, manifest: dict[str, Any], featurizer: features.Featurizer, kind: Kind) -> None:
        self.path = path
        self.manifest = manifest
        self.featurizer = featurizer
        self.kind = kind
        self.models: list[str] = list(manifest["models"])
        self.model_cost = np.array([float(manifest["model_cost"][m]) for m in self.models])
        self.relative_cost = decision.relative_cost(self.model_cost)
        self.cost_weight = float(manifest.get("cost_weight", 0.0))

    def predict(self, text: str) -> np.ndarray:
        return self.kind.predict(*self.featurizer.transform(text))

    def choose(self, text: str, cost_weight: float | None = None) -> str:
        weight = self.cost_weight if cost_weight is None else cost_weight
        return self.models[int(decision.picks(self.predict(text), decision.penalty(self.relative_cost, weight)))]

    def picks(self, predicted: np.ndarray, cost_weight: float) -> np.ndarray:
        """Column index of the chosen model for each row of predicted scores."""
        return decision.picks(predicted, decision.penalty(self.relative_cost, cost_weight))

    def prices(self) -> dict[str, Any]:
        """``{model: Prices}`` the router was trained with (for rows without ``cost``)."""
        from llmrouter.pricing import prices_of

        return {m: prices_of(self.manifest.get("prices", {}).get(m, {})) for m in self.models}

    def seen_queries(self) -> np.ndarray:
        return np.load(self.path / SEEN, allow_pickle=False)

    def metrics(self) -> dict[str, Any]:
        return json.loads((self.path / METRICS).read_text(encoding="utf-8"))


def save_router(
    directory: str | Path,
    *,
    featurizer: features.Featurizer,
    kind: Kind,
    models: list[str],
    model_cost: dict[str, float],
    prices: dict[str, dict[str, float | None]],
    cost_weight: float,
    metrics: dict[str, Any],
    seen: list[str],
    data: dict[str, Any],
) -> Path:
    """Write a complete router directory (the manifest last: no manifest, no router)."""
    from llmrouter import __version__

    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    (path / MANIFEST).unlink(missing_ok=True)
    files = featurizer.save(path) + kind.save(path)
    np.save(path / SEEN, query_hashes(seen))
    (path / METRICS).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    files += [SEEN, METRICS]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kind": kind.name,
        "settings": kind.settings,
        "models": models,
        "model_cost": model_cost,
        "prices": prices,
        "cost_weight": cost_weight,
        "featurizer": {"name": features.NAME, "version": features.VERSION, "settings": features.SETTINGS, "terms": featurizer.size},
        "data": data,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "llmrouter_version": __version__,
        "files": {name: sha256_of(path / name) for name in files},
    }
    (path / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def _manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    if not path.is_dir():
        raise RouterLoadError(f"{path}: no such router directory (create one with `llmrouter train`)")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RouterLoadError(f"{file}: missing; {path} is not a complete router directory (rerun `llmrouter train`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RouterLoadError(f"{file}: corrupt ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise RouterLoadError(f"{file}: not a llmrouter router manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise RouterLoadError(f"{file}: format version {manifest.get('format_version')}, this llmrouter reads {FORMAT_VERSION}; retrain")
    needed = ("kind", "models", "model_cost", "featurizer", "files")
    missing = [key for key in needed if key not in manifest]
    if missing:
        raise RouterLoadError(f"{file}: missing {', '.join(missing)}")
    featurizer = manifest["featurizer"]
    if featurizer.get("name") != features.NAME or featurizer.get("version") != features.VERSION:
        raise RouterLoadError(
            f"{file}: featurizer {featurizer.get('name')} version {featurizer.get('version')}, but this llmrouter "
            f"computes {features.NAME} version {features.VERSION}; retrain the router with this version"
        )
    if manifest["kind"] not in KINDS:
        raise RouterLoadError(f"{file}: unknown router kind '{manifest['kind']}' (known: {', '.join(KINDS)})")
    models = manifest["models"]
    if not isinstance(models, list) or not models or any(m not in manifest["model_cost"] for m in models):
        raise RouterLoadError(f"{file}: 'models' must list the candidates, each with a 'model_cost'")
    return manifest


def load_router(directory: str | Path) -> TrainedRouter:
    """Load and check a router directory; :class:`RouterLoadError` names what is wrong."""
    path = Path(directory)
    manifest = _manifest(path)
    for name, digest in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise RouterLoadError(f"{file}: missing; the router directory is incomplete (rerun `llmrouter train`)")
        if sha256_of(file) != digest:
            raise RouterLoadError(f"{file}: truncated or modified since training (sha256 differs from {MANIFEST}); rerun `llmrouter train`")
    try:
        featurizer = features.Featurizer.load(path)
        kind = KINDS[manifest["kind"]].load(path, manifest.get("settings") or {}, featurizer.size, len(manifest["models"]))
    except (OSError, ValueError) as exc:
        raise RouterLoadError(f"{path}: corrupt router files ({exc})") from None
    return TrainedRouter(path, manifest, featurizer, kind)
