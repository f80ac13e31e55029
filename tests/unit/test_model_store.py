"""Model files: safe to load, versioned, swapped atomically, reloaded when the pointer moves."""
from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

from infra.model_store import (
    POINTER_NAME,
    TUNED_NAME,
    ModelFileError,
    ModelMissing,
    ModelStore,
    Tuned,
    corpus_arrays,
    corpus_figures,
    find_tuned,
    load_model,
    read_tuned,
    save_model,
    settings_for,
    train_and_save,
    train_model,
    tune_and_save,
    write_tuned,
)
from services.catalog import Catalog
from services.domain import Film, MatchedFilm, ProfileFilm
from services.recsys import FULL, QUICK, Corpus, HybridSettings, Member, fit, quick_settings
from services.recsys.model import FORMAT_VERSION

def fit_hybrid(users, items, values, scale, films=None, settings=None):
    return fit(Corpus(users, items, values, scale), Catalog(films) if films else None, settings)


FAST = HybridSettings(l2=2.0, blend={"ease": 1.0, "ease_liked": 1.0, "taste": 0.5, "als": 0.5, "quality": 0.2},
                      als_factors=3, als_regularization=0.5, kept_neighbours=4)


def ratings(seed: int = 0):
    rng = np.random.default_rng(seed)
    users, items, values = [], [], []
    for u in range(30):
        for film_id in range(1, 13):
            if film_id % 2 == u % 2 and rng.random() < 0.7:
                users.append(u), items.append(film_id), values.append(float(rng.integers(6, 11)))
    return np.array(users), np.array(items), np.array(values)


def films() -> list[Film]:
    return [Film(film_id=f, title=f"Film {f}", year=2000 + f, genres=("Drama",)) for f in range(1, 13)]


class FakeStore:
    """The three calls training makes, over fixed arrays."""

    def __init__(self) -> None:
        self.users, self.items, self.values = ratings()

    def corpus(self):
        return self.users.astype(np.int32), self.items.astype(np.int32), self.values.astype(np.float32)

    def corpus_implicit(self):
        return np.array([0, 1], dtype=np.int32), np.array([4, 5], dtype=np.int32), np.array([True, False])

    def films(self):
        return films()


def test_a_saved_model_loads_back_with_the_same_scores_to_half_precision(tmp_path):
    model = fit_hybrid(*ratings(), 10.0, films=films(), settings=FAST)
    version = save_model(model, tmp_path)
    loaded = load_model(tmp_path / f"{version}.npz")
    assert np.array_equal(loaded.item_ids, model.item_ids)
    assert loaded.blend == model.blend and loaded.l2 == model.l2 and loaded.signals == model.signals
    assert sp.issparse(loaded.weights_liked)
    assert loaded.mapping is not None and np.array_equal(loaded.mapping.weights, model.mapping.weights)
    catalog = model.catalog
    member = [MatchedFilm(ProfileFilm(title="Film 2", rating=4.0), catalog.by_id(2)),
              MatchedFilm(ProfileFilm(title="Film 4", rating=2.0), catalog.by_id(4))]
    assert np.allclose(loaded.bind(catalog).score(Member.from_matched(member)),
                       model.score(Member.from_matched(member)), atol=0.01)


def test_the_version_name_carries_time_kind_and_content_hash(tmp_path):
    version = save_model(fit_hybrid(*ratings(), 10.0, settings=FAST), tmp_path)
    assert version.startswith("model-") and version.split("-")[2] == "full" and len(version.split("-")) == 4
    assert (tmp_path / POINTER_NAME).read_text().strip() == f"{version}.npz"
    assert not list(tmp_path.glob(".*tmp"))


def test_a_file_that_needs_pickle_is_refused(tmp_path):
    path = tmp_path / "model-evil.npz"
    np.savez(path, item_ids=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="model-evil.npz"):
        load_model(path)


def test_a_file_with_missing_arrays_names_what_is_missing(tmp_path):
    path = tmp_path / "model-partial.npz"
    np.savez(path, format_version=np.array(FORMAT_VERSION))
    with pytest.raises(ModelFileError, match="missing array"):
        load_model(path)


def test_current_reloads_only_when_the_pointer_changes(tmp_path):
    store = ModelStore(tmp_path)
    with pytest.raises(ModelMissing):
        store.current()
    first = save_model(fit_hybrid(*ratings(0), 10.0, settings=FAST), tmp_path)
    model, version = store.current()
    assert version == first
    assert store.current()[0] is model  # no reload without a change
    second = save_model(fit_hybrid(*ratings(1), 10.0, settings=FAST), tmp_path)
    reloaded, version = store.current()
    assert version == second and reloaded is not model


def test_only_the_newest_versions_are_kept(tmp_path):
    versions = [save_model(fit_hybrid(*ratings(s), 10.0, settings=FAST), tmp_path, keep=2) for s in range(4)]
    remaining = sorted(p.name for p in tmp_path.glob("model-*.npz"))
    assert f"{versions[-1]}.npz" in remaining and len(remaining) == 2


def test_training_from_the_store_covers_films_by_film_id(tmp_path):
    version = train_and_save(FakeStore(), tmp_path, FAST)
    model, current = ModelStore(tmp_path).current()
    assert current == version
    assert set(model.item_ids.tolist()) <= set(range(1, 13))
    assert model.index_of(2) is not None and model.index_of(99) is None


class FilmsStore(FakeStore):
    def films(self):
        return films()


def test_tuning_stores_the_values_and_training_with_them_searches_nothing(tmp_path):
    store = FilmsStore()
    tuned_file = tmp_path / "tuned.json"
    version, tuned = tune_and_save(store, tmp_path / "models", tuned_file)
    assert tuned.full.kind == FULL and tuned.quick.kind == QUICK and tuned.full.l2 is not None
    assert tuned.full.blend and tuned.quick.blend and tuned.full.match is not None
    assert tuned.corpus == corpus_figures(corpus_arrays(store))
    assert "-full-" in version
    again = find_tuned(tmp_path / "nowhere", tmp_path)
    assert again is not None and again.full == tuned.full and again.quick == tuned.quick
    model = train_model(store, settings_for(FULL, again))
    assert model.report.l2_trials == {} and model.report.als_trials == {} and model.report.beta_trials == {}
    assert model.l2 == tuned.full.l2 and dict(model.blend) == dict(tuned.full.blend)
    assert (model.match_slope, model.match_intercept) == tuned.full.match
    quick = train_model(store, settings_for(QUICK, again))
    assert quick.kind == QUICK and quick.item_factors.shape[1] == 0 and quick.report.l2_trials == {}


def test_a_runtime_folders_own_tuned_values_come_before_the_shipped_ones(tmp_path):
    shipped, own = tmp_path / "data", tmp_path / "models"
    base = Tuned(full=HybridSettings(l2=100.0, blend={"ease": 1.0}), quick=quick_settings(HybridSettings(l2=50.0)))
    write_tuned(shipped / TUNED_NAME, base)
    assert find_tuned(own, shipped).full.l2 == 100.0
    write_tuned(own / TUNED_NAME, Tuned(full=HybridSettings(l2=200.0), quick=base.quick))
    assert find_tuned(own, shipped).full.l2 == 200.0
    assert find_tuned(tmp_path / "a", tmp_path / "b") is None


@pytest.mark.parametrize("text", ["{", '{"format": 1}', '{"format": 9, "full": {}, "quick": {}}',
                                  '{"format": 1, "full": {"l2": "much"}, "quick": {"kind": "quick"}}',
                                  '{"format": 1, "full": {"kind": "full", "blend": {"sparkle": 1}}, '
                                  '"quick": {"kind": "quick"}}'])
def test_a_malformed_tuned_file_is_an_error_naming_it(tmp_path, text):
    path = tmp_path / TUNED_NAME
    path.write_text(text)
    with pytest.raises(ModelFileError, match=TUNED_NAME):
        read_tuned(path)
