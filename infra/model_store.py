"""Model files on disk: train from the store, save as .npz, swap atomically, reload on change.

Layout of model_dir:
  model-<UTC time>-<content hash>.npz   one file per trained version (numpy, no pickle)
  current                               the file name of the version in use
Both are written to a temp file and renamed into place, so a reader sees either the
old version or the new one, never half a file. `ModelStore.current()` stats the
pointer on every call (cheap) and loads a new version only when it changed, so a
running app picks up a model trained by another process without a restart.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import scipy.sparse as sp

from infra.datasets import load_items_csv, load_ratings_csv
from services.domain import Film
from services.hybrid import HybridModel, HybridSettings, SignalWeights, fit_hybrid

FORMAT_VERSION = 1
POINTER_NAME = "current"
MODEL_PREFIX = "model-"
KEEP_VERSIONS = 3
CORPUS_SCALE = 10.0  # the store's corpus is always 0-10 (stars x 2)
FILE_MODE = 0o644


class ModelMissing(Exception):
    """No trained model exists yet in the model directory."""


class ModelFileError(Exception):
    """A model file is unreadable or not in the expected format; the message names it."""


class CorpusStore(Protocol):
    """What training needs from infra.store.Store."""

    def corpus(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def corpus_implicit(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

    def films(self) -> list[Film]: ...


def model_arrays(model: HybridModel) -> dict[str, np.ndarray]:
    """Return the model as a flat dict of plain numpy arrays (nothing that needs pickle)."""
    arrays: dict[str, np.ndarray] = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "item_ids": np.asarray(model.item_ids, dtype=np.int64),
        "item_factors": np.asarray(model.item_factors, dtype=np.float32),
        "popularity": np.asarray(model.popularity, dtype=np.float32),
        "quality": np.asarray(model.quality, dtype=np.float32),
        "blend_names": np.array(list(model.blend), dtype=np.str_),
        "blend_values": np.array(list(model.blend.values()), dtype=np.float64),
        "signal_names": np.array([f.name for f in fields(SignalWeights)], dtype=np.str_),
        "signal_values": np.array([getattr(model.signals, f.name) for f in fields(SignalWeights)], dtype=np.float64),
        "numbers_names": np.array(["scale", "l2", "als_regularization", "als_alpha", "content_presence",
                                   "content_taste", "n_users", "n_ratings"], dtype=np.str_),
        "numbers_values": np.array([model.scale, model.l2, model.als_regularization, model.als_alpha,
                                    model.content_presence, model.content_taste, model.n_users, model.n_ratings],
                                   dtype=np.float64),
    }
    for name, weights in (("ease", model.weights_ease), ("liked", model.weights_liked)):
        if sp.issparse(weights):
            csr = weights.tocsr()
            arrays[f"{name}_data"] = csr.data.astype(np.float32)
            arrays[f"{name}_indices"] = csr.indices.astype(np.int32)
            arrays[f"{name}_indptr"] = csr.indptr.astype(np.int64)
            arrays[f"{name}_shape"] = np.array(csr.shape, dtype=np.int64)
        else:
            arrays[f"{name}_dense"] = np.asarray(weights, dtype=np.float32)
    return arrays


def model_from_arrays(arrays: Any, source: str = "model") -> HybridModel:
    """Rebuild a model from model_arrays() output (or an open .npz)."""
    try:
        version = int(arrays["format_version"])
        if version != FORMAT_VERSION:
            raise ModelFileError(f"{source}: format version {version}, expected {FORMAT_VERSION}")
        numbers = dict(zip(arrays["numbers_names"].tolist(), arrays["numbers_values"].tolist()))
        signals = dict(zip(arrays["signal_names"].tolist(), arrays["signal_values"].tolist()))
        known = {f.name for f in fields(SignalWeights)}
        weights = {}
        for name in ("ease", "liked"):
            if f"{name}_dense" in arrays:
                weights[name] = np.asarray(arrays[f"{name}_dense"], dtype=np.float32)
            else:
                weights[name] = sp.csr_matrix(
                    (arrays[f"{name}_data"], arrays[f"{name}_indices"], arrays[f"{name}_indptr"]),
                    shape=tuple(int(x) for x in arrays[f"{name}_shape"]))
        return HybridModel(
            item_ids=np.asarray(arrays["item_ids"], dtype=np.int64),
            scale=float(numbers["scale"]),
            weights_ease=weights["ease"],
            weights_liked=weights["liked"],
            item_factors=np.asarray(arrays["item_factors"], dtype=np.float32),
            popularity=np.asarray(arrays["popularity"], dtype=np.float32),
            quality=np.asarray(arrays["quality"], dtype=np.float32),
            blend=dict(zip(arrays["blend_names"].tolist(), arrays["blend_values"].tolist())),
            l2=float(numbers["l2"]),
            als_regularization=float(numbers["als_regularization"]),
            als_alpha=float(numbers["als_alpha"]),
            signals=SignalWeights(**{k: v for k, v in signals.items() if k in known}),
            content_presence=float(numbers["content_presence"]),
            content_taste=float(numbers["content_taste"]),
            n_users=int(numbers["n_users"]),
            n_ratings=int(numbers["n_ratings"]),
        )
    except KeyError as exc:
        raise ModelFileError(f"{source}: missing array {exc.args[0]!r}") from None
    except (ValueError, TypeError) as exc:
        raise ModelFileError(f"{source}: malformed ({exc})") from None


def save_model(model: HybridModel, model_dir: Path, keep: int = KEEP_VERSIONS) -> str:
    """Write a new version file and point `current` at it, both atomically; return the version."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".model.", suffix=".npz.tmp", dir=model_dir)
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **model_arrays(model))
        digest = hashlib.sha256()
        with open(temp, "rb") as written:
            for block in iter(lambda: written.read(1 << 20), b""):
                digest.update(block)
        now = time.time()
        # Microseconds keep names in time order when versions are saved within one second.
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1e6):06d}Z"
        version = f"{MODEL_PREFIX}{stamp}-{digest.hexdigest()[:12]}"
        os.chmod(temp, FILE_MODE)
        os.replace(temp, model_dir / f"{version}.npz")
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _write_atomic(model_dir / POINTER_NAME, f"{version}.npz\n".encode())
    _prune(model_dir, keep, keep_name=f"{version}.npz")
    return version


def load_model(path: Path) -> HybridModel:
    """Load a model file without ever unpickling anything."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return model_from_arrays({name: arrays[name] for name in arrays.files}, str(path))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: missing") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ModelFileError(f"{path}: unreadable ({exc})") from None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write bytes beside path and rename over it."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temp, FILE_MODE)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _prune(model_dir: Path, keep: int, keep_name: str) -> None:
    """Delete all but the newest `keep` version files (never the one just written)."""
    versions = sorted(model_dir.glob(f"{MODEL_PREFIX}*.npz"), key=lambda p: p.name, reverse=True)
    for old in versions[max(keep, 1):]:
        if old.name != keep_name:
            old.unlink(missing_ok=True)


def train_model(store: CorpusStore, settings: HybridSettings = HybridSettings()) -> HybridModel:
    """Fit the hybrid on the store's corpus (ratings plus unrated member films) and its films."""
    users, film_ids, ratings = store.corpus()
    unrated = None
    implicit = getattr(store, "corpus_implicit", None)
    if implicit is not None:
        extra_users, extra_films, liked = implicit()
        if np.asarray(extra_users).size:
            unrated = (np.asarray(extra_users), np.asarray(extra_films), np.asarray(liked, dtype=bool))
    return fit_hybrid(users, film_ids, ratings, CORPUS_SCALE, films=store.films(), unrated=unrated,
                      settings=settings)


def train_and_save(store: CorpusStore, model_dir: Path, settings: HybridSettings = HybridSettings()) -> str:
    """Train on the store and save the model as the current version; return the version."""
    return save_model(train_model(store, settings), Path(model_dir))


class ModelStore:
    """The current model of a directory, reloaded whenever the `current` pointer changes."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._loaded: tuple[HybridModel, str] | None = None

    @property
    def pointer(self) -> Path:
        return self.model_dir / POINTER_NAME

    def exists(self) -> bool:
        """Return whether a current model has been saved."""
        return self.pointer.is_file()

    def current(self) -> tuple[HybridModel, str]:
        """Return (model, version), loading the file again only when the pointer changed."""
        try:
            info = os.stat(self.pointer)
        except FileNotFoundError:
            raise ModelMissing(f"no model in {self.model_dir}; run `python main.py train`") from None
        stamp = (info.st_ino, info.st_mtime_ns, info.st_size)
        loaded = self._loaded
        if loaded is not None and stamp == self._stamp:
            return loaded
        with self._lock:
            if self._loaded is not None and stamp == self._stamp:
                return self._loaded
            name = self.pointer.read_text(encoding="utf-8").strip()
            if not name or "/" in name or not name.startswith(MODEL_PREFIX):
                raise ModelFileError(f"{self.pointer}: does not name a model file")
            model = load_model(self.model_dir / name)
            self._loaded = (model, name[: -len(".npz")] if name.endswith(".npz") else name)
            self._stamp = stamp
            return self._loaded

    def train_and_save(self, store: CorpusStore, settings: HybridSettings = HybridSettings()) -> str:
        """Train on the store, save, and return the new version (picked up by current())."""
        return train_and_save(store, self.model_dir, settings)


# ---------------------------------------------------------------------------
# The `evaluate` command: read CSVs, run the protocol, format the report.


def format_report(report: dict) -> str:
    """Return the evaluation report as a fixed-width table."""
    lines = [
        f"users {report['users']:,}  items {report['items']:,}  evaluated users {report['eval_users']:,}  "
        f"K={report['k']}  seed={report.get('seed', 0)}",
        f"{'model':<12}{'recall':>9}{'ndcg':>9}{'fit_s':>10}{'p50_ms':>9}{'p95_ms':>9}",
    ]
    for name, row in report["models"].items():
        if "ndcg" not in row:
            lines.append(f"{name:<12}  {row.get('skipped', 'skipped')}")
            continue
        lines.append(f"{name:<12}{row['recall']:>9.4f}{row['ndcg']:>9.4f}{row['fit_s']:>10.2f}"
                     f"{row['recommend_ms_p50']:>9.2f}{row['recommend_ms_p95']:>9.2f}")
    return "\n".join(lines)


def run_evaluate_cli(ratings_path: Path, items_path: Path | None, k: int = 20, seed: int = 0,
                     as_json: bool = False, models: Sequence[str] | str | None = None) -> str:
    """Read the CSVs, run services.evaluation.evaluate and return a table or JSON text."""
    from services.evaluation import ALL_MODELS, evaluate

    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    unknown = sorted(set(models or ()) - set(ALL_MODELS))
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; models: {', '.join(ALL_MODELS)}")
    users, items, ratings = load_ratings_csv(Path(ratings_path))
    item_meta = load_items_csv(Path(items_path)) if items_path else None
    report = evaluate(users, items, ratings, k=k, seed=seed, item_meta=item_meta, models=models)
    if as_json:
        return json.dumps(_plain(report), indent=2, sort_keys=False)
    return format_report(report)


def _plain(value: Any) -> Any:
    """Return a JSON-able copy (numpy scalars to Python, dict keys to strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
