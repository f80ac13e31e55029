"""Fold a new member in and rank a whole catalog, against naive ways of doing the same.

    .venv/bin/python bench/fold_in.py                      # 1,000 rated films, 100,000-film catalog
    .venv/bin/python bench/fold_in.py --films 300 --catalog 50000 --runs 30

A model is fitted once (fixed hyperparameters, so the bench does not wait for tuning)
on synthetic ratings over the first --model-items films of the catalog; the other
films have no ratings and are scored from content-predicted factors. Then, many
times, a member with --films rated films (plus likes, unrated watches and a watchlist)
is folded in and the full catalog is scored, filtered, diversified and explained:
`services.recsys.recommend_films` (HybridModel.recommend, then explain per pick).
Measured in the same run, for ratios:
  naive     the same scores computed the straightforward way: dense item x item
            matrices, a Python loop over the catalog for content and filters, a full sort
  refit     retraining EASE with the member added (what fold-in avoids), one run
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import GENRES, generate  # noqa: E402
from services.catalog import Catalog  # noqa: E402
from services.domain import Film, MatchedFilm, ProfileFilm  # noqa: E402
from services.filters import Filters  # noqa: E402
from services.recsys import Corpus, HybridSettings, fit, member_films, member_signals  # noqa: E402
from services.recsys import recommend_films as recommend  # noqa: E402
from services.baselines import binary, ease_weights, gram, interaction_matrix  # noqa: E402

BLEND = {"ease": 1.0, "ease_liked": 1.0, "taste": 0.6, "als": 2.0, "popularity": -1.0, "quality": 0.3,
         "content": 0.5}


def build_catalog(n_films: int, seed: int) -> Catalog:
    """Return a catalog of synthetic films with genres, directors, cast, years and votes."""
    rng = random.Random(seed)
    films = []
    for film_id in range(1, n_films + 1):
        films.append(Film(
            film_id=film_id, title=f"Film {film_id}", year=rng.randint(1930, 2024),
            genres=tuple(rng.sample(GENRES, rng.randint(1, 3))),
            directors=(f"Director {rng.randint(1, n_films // 4)}",),
            cast=tuple(f"Actor {rng.randint(1, n_films)}" for _ in range(4)),
            keywords=tuple(f"kw{rng.randint(1, 3000)}" for _ in range(5)),
            runtime=rng.randint(70, 200), vote_count=int(rng.paretovariate(1.1) * 20),
            vote_average=round(rng.uniform(4, 9), 1), corpus_count=rng.randint(0, 500),
            corpus_mean=round(rng.uniform(4, 9), 1),
        ))
    return Catalog(films)


def build_member(catalog: Catalog, model_items: int, n_films: int, seed: int) -> list[MatchedFilm]:
    """Return a member: n_films rated films plus likes, unrated watches and a watchlist."""
    rng = random.Random(seed)
    ids = rng.sample(range(1, model_items + 1), n_films + n_films // 2)
    out = []
    for i, film_id in enumerate(ids):
        film = catalog.by_id(film_id)
        if i < n_films:
            entry = ProfileFilm(title=film.title, rating=rng.choice([1, 2, 2.5, 3, 3.5, 4, 4.5, 5]),
                                liked=rng.random() < 0.2, rewatch=rng.random() < 0.05)
        elif i < n_films + n_films // 4:
            entry = ProfileFilm(title=film.title, liked=rng.random() < 0.3)
        else:
            entry = ProfileFilm(title=film.title, watched=False, watchlist=True)
        out.append(MatchedFilm(entry, film))
    return out


def naive_recommend(dense_ease, dense_liked, model, catalog, matched, filters, count):
    """Score the same features without vectorised content, filtering or partial sorting."""
    films = member_films(matched)
    presence, centred = member_signals(films, model.signals, 2.0 / model.scale)
    head = {int(model.item_ids[h]): k for k, h in enumerate(model.head)}
    x = np.zeros(model.head.size, dtype=np.float32)
    c = np.zeros(model.head.size, dtype=np.float32)
    for f, p, q in zip(films, presence, centred):
        index = head.get(f.film.film_id)
        if index is not None:
            x[index], c[index] = p, q
    parts = [x @ dense_ease, x @ dense_liked, c @ dense_liked]
    cf = sum((v - v.mean()) / (v.std() + 1e-6) for v in parts)
    loved_genres: dict[str, float] = {}
    for f, q in zip(films, centred):
        for g in f.film.genres:
            loved_genres[g] = loved_genres.get(g, 0.0) + float(q)
    seen = {f.film.film_id for f in films if f.watched or f.stars is not None}
    scored = []
    for index, film in enumerate(catalog.films):
        if film.film_id in seen or not filters.allows(film, float(catalog.obscurity[index])):
            continue
        content = sum(loved_genres.get(g, 0.0) for g in film.genres)
        model_index = head.get(film.film_id)
        score = (cf[model_index] if model_index is not None else 0.0) + 0.1 * content
        scored.append((score, film.film_id))
    scored.sort(reverse=True)
    return scored[:count]


def timed(fn, runs: int) -> list[float]:
    """Return wall times in ms of `runs` calls."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000.0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=1000, help="rated films of the member")
    parser.add_argument("--catalog", type=int, default=100_000)
    parser.add_argument("--model-items", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--ratings", type=int, default=400_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    started = time.perf_counter()
    users, items, ratings, _, _ = generate(args.users, args.model_items, args.ratings, args.seed)
    catalog = build_catalog(args.catalog, args.seed)
    settings = HybridSettings(l2=1000.0, blend=BLEND, als_regularization=100.0, seed=args.seed)
    model = fit(Corpus(users, items + 1, ratings, 10.0), catalog, settings)
    print(f"model: {model.n_items:,} films rated ({model.head.size:,} in the EASE head), {ratings.size:,} ratings, "
          f"fitted in {time.perf_counter() - started:.1f}s; catalog {len(catalog):,} films")
    member = build_member(catalog, args.model_items, args.films, args.seed + 1)
    filters = Filters()

    first = timed(lambda: recommend(model, catalog, member, filters, 20), 1)[0]
    ours = timed(lambda: recommend(model, catalog, member, filters, 20), args.runs)
    picks = recommend(model, catalog, member, filters, 20)
    print(f"member: {args.films:,} rated films + {len(member) - args.films:,} other entries; "
          f"first call {first:.0f} ms (builds the catalog's content vectors and predicted factors once)")
    print(f"example: {picks[0].film.title}: {' / '.join(picks[0].reasons)}")

    dense_ease = model.weights_ease.toarray() if hasattr(model.weights_ease, "toarray") else model.weights_ease
    dense_liked = model.weights_liked.toarray() if hasattr(model.weights_liked, "toarray") else model.weights_liked
    naive = timed(lambda: naive_recommend(dense_ease, dense_liked, model, catalog, member, filters, 20),
                  max(3, args.runs // 8))

    presence = interaction_matrix(users, items, np.ones(users.size), (args.users, args.model_items))
    extra_row = np.zeros(args.model_items, dtype=np.float32)
    extra_row[[m.film.film_id - 1 for m in member[: args.films]]] = 1.0
    started = time.perf_counter()
    ease_weights(gram(binary(presence)) + np.outer(extra_row, extra_row), 1000.0)
    refit = (time.perf_counter() - started) * 1000.0

    p50, p95 = statistics.median(ours), float(np.percentile(ours, 95))
    naive_p50 = statistics.median(naive)
    print(f"\n{'implementation':<34}{'p50 ms':>10}{'p95 ms':>10}{'vs ours':>10}")
    print(f"{'fold-in + rank (recommend)':<34}{p50:>10.1f}{p95:>10.1f}{1.0:>9.1f}x")
    print(f"{'naive (dense, Python loops)':<34}{naive_p50:>10.1f}{np.percentile(naive, 95):>10.1f}"
          f"{naive_p50 / p50:>9.1f}x")
    print(f"{'refit EASE with the member':<34}{refit:>10.1f}{refit:>10.1f}{refit / p50:>9.1f}x")
    print(f"\ntarget p50 < 50 ms: {'met' if p50 < 50 else 'NOT met'}")


if __name__ == "__main__":
    main()
