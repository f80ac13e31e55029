"""Model files on disk: train from the store, save as .npz, swap atomically, reload on change.

Layout of model_dir:
  model-<UTC time>-<kind>-<content hash>.npz   one file per trained version (numpy, no pickle);
                                               kind is "full", or "quick" (the first answers)
  current                                      the file name of the version in use
  tuned.json                                   values `train --tune` chose for this corpus
Each is written to a temp file and renamed into place, so a reader sees either the
old version or the new one, never half a file. `ModelStore.current()` stats the
pointer on every call (cheap) and loads a new version only when it changed, so a
running app picks up a model trained by another process without a restart.

Tuned values: `train --tune` searches the hyperparameters (EASE's L2, ALS's
regularisation, the neighbours' popularity penalty, the blend and the match
calibration) for the full and the quick model on held-out members and writes them,
with what corpus they were tuned on, to tuned.json. `train` and a first start fit
with those values and search nothing. The values tuned on the embedded corpus ship
as data/tuned.json; a runtime folder's own file (after `train --tune`) comes first.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from services.domain import Film
from services.catalog import Catalog
from services.recsys import (
    FULL,
    QUICK,
    QUICK_SETTINGS,
    Corpus,
    HybridModel,
    HybridSettings,
    ModelFormatError,
    fit,
    quick_settings,
    settings_from_record,
    settings_record,
    tuned_settings,
)

log = logging.getLogger(__name__)

POINTER_NAME = "current"
TUNED_NAME = "tuned.json"
TUNED_FORMAT = 1
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
    return model.to_arrays()


def model_from_arrays(arrays: Any, source: str = "model") -> HybridModel:
    """Rebuild a model from model_arrays() output (or an open .npz)."""
    try:
        return HybridModel.from_arrays(arrays)
    except KeyError as exc:
        raise ModelFileError(f"{source}: missing array {exc.args[0]!r}") from None
    except ModelFormatError as exc:
        raise ModelFileError(f"{source}: {exc}") from None
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
        version = f"{MODEL_PREFIX}{stamp}-{model.kind}-{digest.hexdigest()[:12]}"
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


@dataclass(frozen=True)
class Tuned:
    """The values `train --tune` chose for the full and the quick model, and the corpus they were chosen on."""

    full: HybridSettings
    quick: HybridSettings
    corpus: dict = field(default_factory=dict)  # {"ratings", "members", "films", "fingerprint"}
    tuned_at: str = ""
    tune_s: float = 0.0
    source: str = ""  # the file they were read from


def corpus_arrays(store: CorpusStore) -> Corpus:
    """The store's corpus (ratings plus unrated member films) as training takes it."""
    users, film_ids, ratings = store.corpus()
    unrated = None
    implicit = getattr(store, "corpus_implicit", None)
    if implicit is not None:
        extra_users, extra_films, liked = implicit()
        if np.asarray(extra_users).size:
            unrated = (np.asarray(extra_users), np.asarray(extra_films), np.asarray(liked, dtype=bool))
    return Corpus(users, film_ids, ratings, CORPUS_SCALE, unrated)


def corpus_figures(corpus: Corpus) -> dict:
    """Sizes of a corpus and a fingerprint of its ratings, to tell whether tuned values were chosen on it."""
    users = np.asarray(corpus.users, dtype=np.int64)
    items = np.asarray(corpus.items, dtype=np.int64)
    ratings = np.asarray(corpus.ratings, dtype=np.float32)
    order = np.lexsort((items, users))
    digest = hashlib.sha256()
    for array in (users[order], items[order], ratings[order]):
        digest.update(np.ascontiguousarray(array).tobytes())
    return {"ratings": int(ratings.size), "members": int(np.unique(users).size),
            "films": int(np.unique(items).size), "fingerprint": digest.hexdigest()[:16]}


def read_tuned(path: Path) -> Tuned:
    """Read a tuned-values file; ModelFileError names it when it is unreadable or malformed."""
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{path}: unreadable ({exc})") from None
    try:
        if record.get("format") != TUNED_FORMAT:
            raise ValueError(f"format {record.get('format')!r}, expected {TUNED_FORMAT}")
        full, quick = settings_from_record(record["full"]), settings_from_record(record["quick"])
        if full.kind != FULL or quick.kind != QUICK:
            raise ValueError("the full and quick entries are swapped")
        return Tuned(full, quick, dict(record.get("corpus") or {}), str(record.get("tuned_at") or ""),
                     float(record.get("tune_s") or 0.0), str(path))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: malformed ({exc})") from None


def write_tuned(path: Path, tuned: Tuned) -> None:
    """Write tuned values as a small JSON file (atomically)."""
    record = {"format": TUNED_FORMAT, "tuned_at": tuned.tuned_at, "tune_s": round(tuned.tune_s, 1),
              "corpus": tuned.corpus, "full": settings_record(tuned.full), "quick": settings_record(tuned.quick)}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, (json.dumps(record, indent=2) + "\n").encode("utf-8"))


def find_tuned(model_dir: Path, data_dir: Path | None = None) -> Tuned | None:
    """The tuned values to fit with: the runtime folder's own, else those shipped with the data, else None."""
    for folder in (model_dir, data_dir):
        if folder is not None and (Path(folder) / TUNED_NAME).is_file():
            return read_tuned(Path(folder) / TUNED_NAME)
    return None


def settings_for(kind: str, tuned: Tuned | None) -> HybridSettings:
    """What a model of this kind is fitted with: the tuned values, else a quick model's fixed ones or a search."""
    if tuned is not None:
        return tuned.full if kind == FULL else tuned.quick
    log.warning("no tuned values (tuned.json): the %s model %s", kind,
                "searches its values, which takes minutes" if kind == FULL else "uses fixed ones")
    return HybridSettings() if kind == FULL else QUICK_SETTINGS


def train_model(store: CorpusStore, settings: HybridSettings = HybridSettings()) -> HybridModel:
    """Fit the hybrid on the store's corpus (ratings plus unrated member films) and its films."""
    return fit(corpus_arrays(store), Catalog(store.films()), settings)


def train_and_save(store: CorpusStore, model_dir: Path, settings: HybridSettings = HybridSettings()) -> str:
    """Train on the store and save the model as the current version; return the version."""
    return save_model(train_model(store, settings), Path(model_dir))


def tune_and_save(store: CorpusStore, model_dir: Path, out: Path, seed: int = 0) -> tuple[str, Tuned]:
    """Search the full and the quick model's values on held-out members, write them to `out`, save the full
    model (fitted with them as part of the search) as the current version; return (version, values)."""
    started = time.perf_counter()
    corpus = corpus_arrays(store)
    catalog = Catalog(store.films())
    full_settings = HybridSettings(seed=seed)
    full = fit(corpus, catalog, full_settings)
    quick_base = quick_settings(HybridSettings(seed=seed))
    quick = fit(corpus, catalog, quick_base)
    tuned = Tuned(full=tuned_settings(full_settings, full), quick=tuned_settings(quick_base, quick),
                  corpus=corpus_figures(corpus), tuned_at=time.strftime("%Y-%m-%d", time.gmtime()),
                  tune_s=time.perf_counter() - started)
    write_tuned(out, tuned)
    return save_model(full, Path(model_dir)), replace(tuned, source=str(out))


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

    def current_kind(self) -> str | None:
        """The kind of the model in use ("full" or "quick"), or None when there is no usable one."""
        try:
            return self.current()[0].kind
        except (ModelMissing, ModelFileError):
            return None
