"""Niche tastes: a member whose favourites all come from one small group of films that few members rated.

    .venv/bin/python bench/niche.py --var /tmp/niche          # import, train --tune, recommend --export
    .venv/bin/python bench/niche.py --write /tmp/niche-data   # only write the corpus and the export

A synthetic corpus of 50,000 films and about 1.7 million ratings: a mainstream part
(bench/synthetic.py's Letterboxd-like set over 8,000 films), and 42,000 films in
clusters of long-tailed sizes, each cluster's films rated by the same few members (three
to five of a handful), as film clubs and niche scenes log. One cluster of 100 films is
the member's: they rated 40 of them 5 stars (and 20 mainstream films 3 stars). Its films
have three to five ratings each, far beyond the 10,000 most-rated films.

The corpus goes into a fresh runtime folder with `main.py import-ratings`, the model is
fitted with `main.py train --tune` (the corpus changed completely, which is when README
says to tune), and the member's export goes through `main.py recommend --export --json`.
Printed: how many of the 50 picks come from the member's group (its other 60 films), and
the same count for the popularity order, in the same run. A figure, not a test: the test
on small data is tests/unit/test_niche.py.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import generate  # noqa: E402

MAINSTREAM_FILMS = 8_000
MAINSTREAM_RATINGS = 1_500_000
MAINSTREAM_MEMBERS = 20_000
TAIL_FILMS = 42_000
GROUP_SIZE = 100  # the member's group
GROUP_FAVOURITES = 40
GROUP_RATERS = 5  # each group film is rated by 3 to 5 of these members
MAINSTREAM_LOGS = 20
PICKS = 50
TITLE_WORDS = ("Night", "River", "Glass", "Summer", "Silent", "Red", "House", "Winter", "Road", "Garden", "Stone",
               "Light", "Shadow", "City", "Sea", "Bird", "Dream", "Fire", "Moon", "Salt")


def title_of(film: int) -> str:
    """A unique, readable title for a synthetic film."""
    a, b = divmod(film, len(TITLE_WORDS))
    c, a = divmod(a, len(TITLE_WORDS))
    return f"{TITLE_WORDS[a]} {TITLE_WORDS[b]} {c}"


def generate_niche(seed: int = 0) -> dict:
    """Return the corpus (users, items, ratings 1-10), each film's year, the group's films and the favourites."""
    rng = np.random.default_rng(seed)
    users, items, ratings, years, _ = generate(MAINSTREAM_MEMBERS, MAINSTREAM_FILMS, MAINSTREAM_RATINGS, seed)
    parts_u, parts_i, parts_r = [users], [items], [ratings]
    n_films = MAINSTREAM_FILMS + TAIL_FILMS
    all_years = np.concatenate([years, rng.integers(1960, 2020, TAIL_FILMS)])
    # Clusters of long-tailed sizes (a Pareto tail, 5 films at least), the member's group first.
    sizes = [GROUP_SIZE]
    while sum(sizes) < TAIL_FILMS:
        sizes.append(int(min(400, 5 + rng.pareto(1.3) * 10)))
    sizes[-1] -= sum(sizes) - TAIL_FILMS
    start = MAINSTREAM_FILMS
    group = np.arange(start, start + GROUP_SIZE)
    next_member = MAINSTREAM_MEMBERS
    for size in sizes:
        films = np.arange(start, start + size)
        start += size
        # The cluster's few members are also mainstream members most of the time, sometimes new ones.
        club = np.where(rng.random(GROUP_RATERS) < 0.7, rng.integers(0, MAINSTREAM_MEMBERS, GROUP_RATERS),
                        np.arange(next_member, next_member + GROUP_RATERS))
        next_member += GROUP_RATERS
        for film in films:
            raters = rng.choice(club, int(rng.integers(3, GROUP_RATERS + 1)), replace=False)
            parts_u.append(raters)
            parts_i.append(np.full(raters.size, film))
            parts_r.append(np.clip(np.round(rng.normal(8.0, 1.2, raters.size)), 1, 10))
    favourites = np.sort(rng.choice(group, GROUP_FAVOURITES, replace=False))
    return {"users": np.concatenate(parts_u), "items": np.concatenate(parts_i),
            "ratings": np.concatenate(parts_r).astype(np.float32), "years": all_years.astype(int),
            "n_films": n_films, "group": group, "favourites": favourites,
            "mainstream_logs": rng.choice(MAINSTREAM_FILMS, MAINSTREAM_LOGS, replace=False)}


def write(data: dict, out: Path) -> tuple[Path, Path, Path]:
    """Write ratings.csv, items.csv and the member's export ZIP; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    ratings_csv, items_csv, export = out / "ratings.csv", out / "items.csv", out / "member_export.zip"
    with ratings_csv.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("user", "item", "rating"))
        writer.writerows(zip(data["users"].tolist(), (f"n{i}" for i in data["items"].tolist()),
                             data["ratings"].astype(int).tolist()))
    with items_csv.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("item", "title", "year", "genres"))
        writer.writerows((f"n{i}", title_of(i), int(data["years"][i]), "Drama") for i in range(data["n_films"]))
    rows = [("Date", "Name", "Year", "Letterboxd URI", "Rating")]
    rows += [("2026-01-01", title_of(i), int(data["years"][i]), "", "5") for i in data["favourites"].tolist()]
    rows += [("2026-01-02", title_of(i), int(data["years"][i]), "", "3") for i in data["mainstream_logs"].tolist()]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("ratings.csv", text.getvalue())
    return ratings_csv, items_csv, export


def run(command: list[str], env: dict) -> tuple[str, float]:
    """Run a main.py command; return its standard output and its wall time."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), *command], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"main.py {' '.join(command)} failed:\n{done.stderr}")
    return done.stdout, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", help="a fresh runtime folder to import into (default: a new temporary one)")
    parser.add_argument("--write", help="only write the corpus and the member's export into this folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    data = generate_niche(args.seed)
    print(f"corpus: {data['ratings'].size:,} ratings, {data['n_films']:,} films, "
          f"{np.unique(data['users']).size:,} members; the group's films have "
          f"{np.bincount(data['items'], minlength=data['n_films'])[data['group']].min()}-"
          f"{np.bincount(data['items'], minlength=data['n_films'])[data['group']].max()} ratings each")
    if args.write:
        for path in write(data, Path(args.write)):
            print(path)
        return 0
    import tempfile

    var = Path(args.var or tempfile.mkdtemp(prefix="niche-"))
    ratings_csv, items_csv, export = write(data, var / "input")
    env = {**os.environ, "VAR_DIR": str(var), "TMDB_API_KEY": "", "LOG_LEVEL": "WARNING"}
    _, import_s = run(["import-ratings", "--ratings", str(ratings_csv), "--items", str(items_csv),
                       "--source", "niche"], env)
    _, train_s = run(["train", "--tune"], env)
    answer, recommend_s = run(["recommend", "--export", str(export), "--count", str(PICKS), "--no-streaming",
                               "--json"], env)
    picks = json.loads(answer)["recommendations"]
    group_titles = {title_of(i) for i in data["group"].tolist()} - {title_of(i) for i in data["favourites"].tolist()}
    from_group = sum(p["title"] in group_titles for p in picks)
    counts = np.bincount(data["items"], minlength=data["n_films"])
    seen = set(data["favourites"].tolist()) | set(data["mainstream_logs"].tolist())
    popular = [i for i in np.argsort(-counts, kind="stable").tolist() if i not in seen][:PICKS]
    print(f"import {import_s:.0f} s, train --tune {train_s:.0f} s, recommend --export {recommend_s:.1f} s")
    print(f"picks from the member's group: {from_group} of {len(picks)} (target 25); "
          f"the popularity order: {sum(title_of(i) in group_titles for i in popular)} of {PICKS}")
    print("first picks: " + "; ".join(f"{p['title']} ({p.get('reason') or ''})" for p in picks[:5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
