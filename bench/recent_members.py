"""Members who log mostly recent films: how many picks are recent, explained by content, and found again.

    .venv/bin/python bench/recent_members.py [--members 40] [--count 50] [--seed 7] [--source ../shared/data]

Each member is drawn with a fixed seed from Wikipedia's American films: a few favourite
actors and genres, a diary of about 250 films (mostly 2014-2023 releases, a share of them
with those actors or genres), and ratings that follow the taste plus noise. A seeded 20%
of each member's favourites (4.5 stars and up) is held out of the export. The rest goes
through the app as an export upload (`POST /api/recommend`, sync) on the embedded
default, exactly as a member would send it, and the picks are read back.

Printed per run: the share of picks from 2014 or later, the share of those whose first
reason names content (a director, an actor, a genre, a film of the member's), recall of
the held-out favourites among the picks, and the same recall for a same-run baseline
that lists the member's favourite genres' most-cast recent films.
"""
from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import sys
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))

from make_sample_export import build_zip, csv_bytes, short_link, stars_text  # noqa: E402

RECENT_FROM = 2014
DIARY_FILMS = 250
TASTE_SHARE = 0.45  # of the diary drawn from films with a favourite actor or genre
FAVOURITE_STARS = 4.5
HOLDOUT = 0.2
GENERIC_REASONS = ("popular with members", "well-loved", "highly rated", "popular")


def core(title: str) -> str:
    """Title reduced to letters and digits, accents dropped, for comparing picks with held-out films."""
    text = unicodedata.normalize("NFKD", title.lower())
    return "".join(ch for ch in text if ch.isalnum())


def read_films(source: Path) -> list[dict]:
    with gzip.open(source / "wikipedia-movies" / "movies.jsonl.gz", "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    return [{"title": r["title"], "year": int(r["year"]), "cast": tuple(r.get("cast") or ()),
             "genres": tuple(g.lower() for g in r.get("genres") or ())}
            for r in rows if r.get("year") and len(r.get("cast") or ()) >= 3]


def make_member(films: list[dict], rng: random.Random) -> tuple[list[dict], list[dict], set[str]]:
    """Return (diary rows kept, favourites held out, favourite genres)."""
    recent = [f for f in films if 2010 <= f["year"] <= 2023]
    actor_counts = Counter(a for f in recent for a in f["cast"][:4])
    actors = [a for a, n in actor_counts.items() if n >= 6]
    genre_counts = Counter(g for f in recent for g in f["genres"])
    genres = [g for g, n in genre_counts.items() if n >= 150]
    liked_actors = set(rng.sample(actors, 6))
    liked_genres = set(rng.sample(genres, 2))

    def affinity(f: dict) -> float:
        return 1.2 * len(liked_actors & set(f["cast"][:4])) + 0.6 * len(liked_genres & set(f["genres"]))

    pool_taste = [f for f in recent if affinity(f) > 0]
    picked: dict[tuple[str, int], dict] = {}
    while len(picked) < DIARY_FILMS:
        pool = pool_taste if rng.random() < TASTE_SHARE else (recent if rng.random() < 0.85 else films)
        f = rng.choice(pool)
        picked[(f["title"], f["year"])] = f
    rows = []
    for f in picked.values():
        stars = min(5.0, max(0.5, round((2.6 + affinity(f) + rng.gauss(0, 0.6)) * 2) / 2))
        rows.append({**f, "stars": stars})
    favourites = [r for r in rows if r["stars"] >= FAVOURITE_STARS]
    held = set(id(r) for r in rng.sample(favourites, max(1, int(len(favourites) * HOLDOUT)))) if favourites else set()
    return [r for r in rows if id(r) not in held], [r for r in rows if id(r) in held], liked_genres


def export_zip(rows: list[dict], username: str) -> bytes:
    ratings, watched = [], []
    for n, r in enumerate(rows):
        date = f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}"
        link = short_link(n + 1)
        ratings.append([date, r["title"], r["year"], link, stars_text(r["stars"])])
        watched.append([date, r["title"], r["year"], link])
    return build_zip({
        "profile.csv": csv_bytes(["Date Joined", "Username"], [["2020-01-01", username]]),
        "ratings.csv": csv_bytes(["Date", "Name", "Year", "Letterboxd URI", "Rating"], ratings),
        "watched.csv": csv_bytes(["Date", "Name", "Year", "Letterboxd URI"], watched),
    })


def recall(picks: list[tuple[str, int]], held: list[dict]) -> float:
    wanted = {(core(h["title"]), h["year"]) for h in held}
    found = sum(1 for t, y in wanted if any(t == pt and abs(y - (py or 0)) <= 1 for pt, py in picks))
    return found / max(1, min(len(picks), len(wanted)))


def genre_baseline(films: list[dict], kept: list[dict], genres: set[str], count: int) -> list[tuple[str, int]]:
    """Recent films of the member's favourite genres, most-cast first (a popularity stand-in)."""
    seen = {(core(r["title"]), r["year"]) for r in kept}
    ranked = sorted((f for f in films if f["year"] >= RECENT_FROM and genres & set(f["genres"])),
                    key=lambda f: (-len(f["cast"]), f["title"]))
    return [(core(f["title"]), f["year"]) for f in ranked if (core(f["title"]), f["year"]) not in seen][:count]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=40)
    p.add_argument("--count", type=int, default=50)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--var-dir", type=Path, default=None, help="runtime folder (default: a fresh temporary one)")
    args = p.parse_args(argv)

    from main import create_app

    films = read_films(args.source)
    var_dir = args.var_dir or Path(tempfile.mkdtemp(prefix="bench-recent-"))
    app = create_app({"var_dir": var_dir, "ratelimit_enabled": False, "log_level": "WARNING"})
    client = app.test_client()
    totals = Counter()
    recalls, baseline_recalls = [], []
    for m in range(args.members):
        rng = random.Random(args.seed * 1000 + m)
        kept, held, genres = make_member(films, rng)
        data = {"export": (io.BytesIO(export_zip(kept, f"member{m}")), "export.zip"),
                "sync": "true", "count": str(args.count), "include_streaming": "false"}
        answer = client.post("/api/recommend", data=data, content_type="multipart/form-data")
        if answer.status_code != 200:
            print(f"member {m}: HTTP {answer.status_code} {answer.get_json()}", file=sys.stderr)
            return 1
        payload = answer.get_json()
        cards = payload["recommendations"]
        picks = [(core(c["title"]), c["year"]) for c in cards]
        totals["picks"] += len(cards)
        totals["matched"] += payload["profile"]["matched"]
        totals["films"] += len(kept)
        for c in cards:
            if (c.get("year") or 0) >= RECENT_FROM:
                totals["recent"] += 1
                reason = (c.get("reason") or "").lower()
                if reason and not any(g in reason for g in GENERIC_REASONS):
                    totals["recent_explained"] += 1
        recalls.append(recall(picks, held))
        baseline_recalls.append(recall(genre_baseline(films, kept, genres, args.count), held))
    n = args.members
    mean = sum(recalls) / n
    base = sum(baseline_recalls) / n
    print(f"{n} members, {totals['films']} films kept in their exports, {totals['matched']} matched "
          f"({totals['matched'] / max(1, totals['films']):.0%})")
    print(f"picks from {RECENT_FROM} on: {totals['recent']} of {totals['picks']} "
          f"({totals['recent'] / max(1, totals['picks']):.0%}); with a content reason first: "
          f"{totals['recent_explained']} of {totals['recent']}")
    print(f"recall@{args.count} of held-out favourites: app {mean:.3f}; baseline (favourite genres' "
          f"most-cast recent films) {base:.3f}; ratio {mean / base if base else float('inf'):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
