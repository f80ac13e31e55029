"""A synthetic Letterboxd-like rating set: ~1M ratings, 1-10, long-tailed films and members.

    .venv/bin/python bench/synthetic.py --out /tmp/synthetic            # ratings.csv + items.csv
    .venv/bin/python bench/synthetic.py --out /tmp/s2 --seed 2 --ratings 500000

Members and films have latent tastes. Which films a member logs depends on the
film's popularity (a log-normal long tail), on taste and on quality; the rating
(1-10, Letterboxd half stars x 2) depends on the member's own bias, on the film's
quality and on taste, plus noise. So watching is not liking: many logged films are
rated low, as on Letterboxd. Genres come from the films' strongest taste
dimensions, so a content model has something real but partial to find.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama", "Family", "Fantasy",
          "History", "Horror", "Music", "Mystery", "Romance", "Science Fiction", "Thriller")
DIM = 16
POPULARITY_SIGMA = 1.6
ACTIVITY_SIGMA = 1.0
EXPOSURE_TASTE = 1.5  # how much taste drives what a member watches
EXPOSURE_QUALITY = 0.5
RATING_BASE = 4.6
RATING_QUALITY = 0.9
RATING_TASTE = 2.0
RATING_NOISE = 1.3
USER_BIAS_SIGMA = 0.8


def generate(n_users: int = 4000, n_items: int = 7500, n_ratings: int = 1_000_000, seed: int = 0
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """Return (users, items, ratings 1-10, item years, item genres)."""
    rng = np.random.default_rng(seed)
    user_taste = rng.normal(0, 1, (n_users, DIM)) / np.sqrt(DIM)
    item_taste = rng.normal(0, 1, (n_items, DIM))
    popularity = rng.lognormal(0, POPULARITY_SIGMA, n_items)
    quality = rng.normal(0, 0.8, n_items) + 0.25 * np.log(popularity)
    activity = rng.lognormal(0, ACTIVITY_SIGMA, n_users)
    counts = np.clip(np.round(activity / activity.sum() * n_ratings), 5, n_items // 2).astype(int)
    user_bias = rng.normal(0, USER_BIAS_SIGMA, n_users)
    log_pop = np.log(popularity)
    users, items, ratings = [], [], []
    for u in range(n_users):
        affinity = item_taste @ user_taste[u]
        # Gumbel top-k = sampling without replacement proportional to exp(logit).
        logit = log_pop + EXPOSURE_TASTE * affinity + EXPOSURE_QUALITY * quality + rng.gumbel(size=n_items)
        chosen = np.argpartition(-logit, counts[u])[: counts[u]]
        value = (RATING_BASE + user_bias[u] + RATING_QUALITY * quality[chosen] + RATING_TASTE * affinity[chosen]
                 + rng.normal(0, RATING_NOISE, chosen.size))
        users.append(np.full(chosen.size, u))
        items.append(chosen)
        ratings.append(np.clip(np.round(value), 1, 10))
    years = np.clip(np.round(2024 - rng.exponential(18, n_items)), 1920, 2024).astype(int)
    projection = rng.normal(0, 1, (DIM, len(GENRES)))
    genre_strength = item_taste @ projection + rng.normal(0, 1.0, (n_items, len(GENRES)))
    genres = [tuple(GENRES[g] for g in np.argsort(-row)[: rng.integers(1, 4)]) for row in genre_strength]
    return (np.concatenate(users), np.concatenate(items), np.concatenate(ratings).astype(np.float32), years,
            genres)


def write(out_dir: Path, n_users: int, n_items: int, n_ratings: int, seed: int) -> tuple[Path, Path]:
    """Write ratings.csv (user,item,rating) and items.csv (item,title,year,genres) to out_dir."""
    users, items, ratings, years, genres = generate(n_users, n_items, n_ratings, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    ratings_path, items_path = out_dir / "ratings.csv", out_dir / "items.csv"
    with ratings_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "rating"])
        writer.writerows(zip(users.tolist(), items.tolist(), ratings.astype(int).tolist()))
    with items_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "title", "year", "genres"])
        for item in range(n_items):
            writer.writerow([item, f"Film {item}", int(years[item]), "|".join(genres[item])])
    return ratings_path, items_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--items", type=int, default=7500)
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ratings_path, items_path = write(args.out, args.users, args.items, args.ratings, args.seed)
    values = np.loadtxt(ratings_path, delimiter=",", skiprows=1, usecols=2)
    print(f"wrote {ratings_path} ({values.size:,} ratings, mean {values.mean():.2f}, "
          f"share >= 7: {(values >= 7).mean():.2f}) and {items_path}")


if __name__ == "__main__":
    main()
