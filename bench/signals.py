"""Tune how much unrated activity counts when a member is folded in, on held-out ratings.

    .venv/bin/python bench/signals.py                                  # embedded MovieTweetings
    .venv/bin/python bench/signals.py --ratings /tmp/synthetic/ratings.csv --hide 0.5

Corpora hold ratings only, so unrated activity is simulated: for each evaluated
member a seeded share (--hide) of their training ratings loses its value and becomes
"watched without a rating"; a hidden film rated >= LIKE_SHARE of the scale becomes
"liked without a rating" with probability LIKE_PROBABILITY (Letterboxd hearts go to
films people love). The hybrid is fitted once; then the confidences
(SignalWeights.watched, .liked, .liked_rating) are searched one at a time on NDCG@20
of the held-out films. Printed against two references measured in the same run: the
hidden films dropped (ratings only) and the full ratings known (the ceiling).
Watchlist and rewatch confidences cannot be tuned this way (no corpus has them).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.rating_files import load_ratings_csv  # noqa: E402
from services import holdout  # noqa: E402
from services.evaluation import prepare  # noqa: E402
from services.recsys import Corpus, HybridSettings, MemberRows, SignalWeights, fit  # noqa: E402
from services.recsys.fitting import bare_catalog  # noqa: E402
from services.recsys.training import build_training_data  # noqa: E402

LIKE_SHARE = 0.9
LIKE_PROBABILITY = 0.7
GRID = {
    "watched": (0.2, 0.35, 0.5, 0.7, 0.85, 1.0, 1.2),
    "liked": (0.6, 0.8, 1.0, 1.2, 1.5),
    "liked_rating": (0.75, 0.8, 0.85, 0.9, 0.95, 1.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=Path, default=ROOT / "data" / "ratings.csv.gz")
    parser.add_argument("--hide", type=float, default=0.5, help="share of training ratings made unrated")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--users", type=int, default=3000, help="evaluated members (a seeded sample)")
    args = parser.parse_args()

    users, items, ratings = load_ratings_csv(args.ratings)
    data = prepare(users, items, ratings)
    n_users, n_items = data.user_ids.size, data.item_ids.size
    split = holdout.holdout_split(data.users, data.items, data.ratings, n_users, n_items, data.scale, args.seed)
    started = time.perf_counter()
    model = fit(Corpus(split.train_users, split.train_items, split.train_ratings, data.scale),
                bare_catalog(np.arange(n_items)), HybridSettings(seed=args.seed + 1))
    print(f"{args.ratings.name}: {n_users:,} users, {n_items:,} items; hybrid fitted in "
          f"{time.perf_counter() - started:.0f}s, blend {dict((k, round(v, 2)) for k, v in model.blend.items())}")

    rng = np.random.default_rng(args.seed)
    evaluated = split.eval_users
    if evaluated.size > args.users:
        evaluated = np.sort(rng.choice(evaluated, args.users, replace=False))
    in_eval = np.isin(split.train_users, evaluated)
    hidden = in_eval & (rng.random(split.train_users.size) < args.hide)
    liked = hidden & (split.train_ratings >= LIKE_SHARE * data.scale) & (rng.random(hidden.size) < LIKE_PROBABILITY)
    seen = build_training_data(split.train_users, split.train_items, split.train_ratings, n_users,
                               n_items, data.scale).presence[evaluated]
    relevant = split.relevant[evaluated]

    def ndcg(signals: SignalWeights, keep_hidden: bool = True, reveal: bool = False) -> float:
        visible = ~hidden | reveal
        unrated = None
        if keep_hidden and not reveal:
            unrated = (split.train_users[hidden], split.train_items[hidden], liked[hidden])
        rows = build_training_data(split.train_users[visible], split.train_items[visible],
                                   split.train_ratings[visible], n_users, n_items, data.scale,
                                   signals, unrated)
        scores = model.score(MemberRows(rows.presence[evaluated], rows.centred[evaluated]))
        holdout.mask_seen(scores, seen)
        _, values = holdout.recall_ndcg(holdout.top_k(scores, 20), relevant, 20)
        return float(values.mean())

    defaults = SignalWeights()
    dropped = ndcg(defaults, keep_hidden=False)
    ceiling = ndcg(defaults, reveal=True)
    best_signals, best = defaults, ndcg(defaults)
    print(f"\n{hidden.sum():,} of {in_eval.sum():,} training ratings of {evaluated.size:,} members made unrated "
          f"({liked.sum():,} of them liked)")
    print(f"{'setting':<44}{'ndcg@20':>10}{'vs dropped':>12}")
    print(f"{'hidden films dropped (ratings only)':<44}{dropped:>10.4f}{1.0:>11.3f}x")
    print(f"{'current defaults':<44}{best:>10.4f}{best / dropped:>11.3f}x")
    for name, grid in GRID.items():
        for value in grid:
            trial = replace(best_signals, **{name: value})
            result = ndcg(trial)
            if result > best + 1e-6:
                best_signals, best = trial, result
        print(f"{'tuned ' + name + ' = ' + str(getattr(best_signals, name)):<44}{best:>10.4f}"
              f"{best / dropped:>11.3f}x")
    print(f"{'all ratings known (ceiling)':<44}{ceiling:>10.4f}{ceiling / dropped:>11.3f}x")
    print("\nbest:", {k: getattr(best_signals, k) for k in GRID})


if __name__ == "__main__":
    main()
