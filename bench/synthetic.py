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


CANDIDATES_PER_RATING = 3  # large sets: films drawn by popularity, then chosen among by taste
LARGE_CHUNK_USERS = 5000


def generate_large(n_users: int = 200_000, n_items: int = 90_000, n_ratings: int = 30_000_000, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """Return the same kind of set as generate() at MovieLens-32M size, in minutes rather than hours.

    Scoring every film for every member (what generate() does) costs members x films;
    here each member draws CANDIDATES_PER_RATING x their count of films by popularity
    and quality (a long tail: most films get a handful of ratings), then keeps the
    ones their taste prefers (Gumbel top-k), so the cost follows the number of ratings.
    """
    rng = np.random.default_rng(seed)
    user_taste = (rng.normal(0, 1, (n_users, DIM)) / np.sqrt(DIM)).astype(np.float32)
    item_taste = rng.normal(0, 1, (n_items, DIM)).astype(np.float32)
    popularity = rng.lognormal(0, POPULARITY_SIGMA * 1.3, n_items)
    quality = rng.normal(0, 0.8, n_items) + 0.25 * np.log(popularity)
    weight = popularity * np.exp(EXPOSURE_QUALITY * quality)
    cdf = np.cumsum(weight / weight.sum())
    activity = rng.lognormal(0, ACTIVITY_SIGMA, n_users)
    counts = np.clip(np.round(activity / activity.sum() * n_ratings), 5, n_items // 4).astype(np.int64)
    user_bias = rng.normal(0, USER_BIAS_SIGMA, n_users)
    user_parts, item_parts, rating_parts = [], [], []
    for start in range(0, n_users, LARGE_CHUNK_USERS):
        chunk = np.arange(start, min(n_users, start + LARGE_CHUNK_USERS))
        wanted = counts[chunk]
        owner = np.repeat(chunk, wanted * CANDIDATES_PER_RATING)
        drawn = np.minimum(np.searchsorted(cdf, rng.random(owner.size)), n_items - 1)
        key = np.unique(owner.astype(np.int64) * n_items + drawn)  # a film drawn twice counts once
        owner, drawn = key // n_items, key % n_items
        affinity = np.einsum("ij,ij->i", item_taste[drawn], user_taste[owner])
        # Gumbel top-k within each member: sort by member, then by perturbed taste.
        order = np.lexsort((-(EXPOSURE_TASTE * affinity + rng.gumbel(size=owner.size)), owner))
        owner, drawn, affinity = owner[order], drawn[order], affinity[order]
        first = np.searchsorted(owner, owner, side="left")
        keep = (np.arange(owner.size) - first) < counts[owner]
        owner, drawn, affinity = owner[keep], drawn[keep], affinity[keep]
        value = (RATING_BASE + user_bias[owner] + RATING_QUALITY * quality[drawn] + RATING_TASTE * affinity
                 + rng.normal(0, RATING_NOISE, owner.size))
        user_parts.append(owner.astype(np.int32))
        item_parts.append(drawn.astype(np.int32))
        rating_parts.append(np.clip(np.round(value), 1, 10).astype(np.float32))
    users, items, ratings = np.concatenate(user_parts), np.concatenate(item_parts), np.concatenate(rating_parts)
    years = np.clip(np.round(2024 - rng.exponential(18, n_items)), 1920, 2024).astype(int)
    projection = rng.normal(0, 1, (DIM, len(GENRES)))
    genre_strength = item_taste @ projection + rng.normal(0, 1.0, (n_items, len(GENRES)))
    genres = [tuple(GENRES[g] for g in np.argsort(-row)[: rng.integers(1, 4)]) for row in genre_strength]
    return users, items, ratings, years, genres


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
