"""What a store change costs the next member: films found on TMDB joining the ~41,000-film catalog.

    .venv/bin/python bench/catalog_change.py [--var DIR] [--films 5] [--rounds 5]

A run that resolves a member's unmatched films on TMDB writes them to the store and then
scores with them. Each round writes --films new films, then times, for the member of
tests/data/modern_export.zip, the path a run takes now (the catalog extended by the new
films, the model's view extended, one lookup of each film, then scoring) against the
baseline measured in the same round: what a change used to cost on the request path (the
whole catalog re-read, catalog, title index and the model's view rebuilt, then scoring).

--var reuses a runtime folder that already holds a model (for example the app's `var/`,
copied first: the store gains films); without it a temporary folder trains the first
model, which takes a few minutes.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config import load_settings  # noqa: E402
from infra.export_reader import read_upload  # noqa: E402
from recommender.composition import build  # noqa: E402
from services.catalog import Catalog  # noqa: E402
from services.domain import Film  # noqa: E402
from services.export_import import profile_from_export  # noqa: E402
from services.filters import Filters  # noqa: E402
from services.matching import CatalogIndex, match_profile  # noqa: E402
from services.recsys import recommend_films  # noqa: E402

EXPORT = ROOT / "tests" / "data" / "modern_export.zip"


def new_films(store, count: int, round_no: int) -> list[Film]:
    """Write `count` films the catalog lacks, as TMDB enrichment would, and return them as stored."""
    stamp = int(time.time() * 1000) % 10_000_000
    written = [Film(film_id=0, title=f"Bench Premiere {round_no}-{i}", year=2025, tmdb_id=90_000_000 + stamp + i,
                    genres=("Drama",), directors=(f"Bench Director {i}",), cast=("Bench Actor",))
               for i in range(count)]
    ids = store.upsert_films(written)
    return [store.film(i) for i in ids]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--var", type=Path, help="a runtime folder holding a model (copied, never changed)")
    ap.add_argument("--films", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    var = Path(tempfile.mkdtemp(prefix="lbr-bench-"))
    if args.var:
        shutil.copytree(args.var, var, dirs_exist_ok=True)
    settings = load_settings(overrides={"var_dir": var, "tmdb_key": "", "redis_url": "", "log_level": "WARNING",
                                        "letterboxd_base_url": "http://127.0.0.1:9"})
    facade = build(settings)
    facade.bootstrap.wait()
    store, catalogs = facade.store, facade.catalogs
    model, _ = facade.model_store.current()
    catalogs.min_interval_s = float("inf")  # only the paths timed below build anything
    catalogs.wait_for_rebuild()
    profile = profile_from_export(read_upload(EXPORT.read_bytes(), EXPORT.name, 10 ** 8))
    matched = match_profile(profile, catalogs.index())
    recommend_films(model, catalogs.catalog(), matched, Filters(), 20)

    now_s, before_s = [], []
    for round_no in range(args.rounds):
        started = time.perf_counter()
        films = new_films(store, args.films, round_no)
        catalog = catalogs.including(films)
        recommend_films(model, catalog, matched, Filters(), 20)
        now_s.append(time.perf_counter() - started)

        started = time.perf_counter()
        films = new_films(store, args.films, round_no + args.rounds)
        everything = store.films()
        rebuilt = Catalog(everything)
        CatalogIndex(everything)
        model.bind(rebuilt).prepare()
        recommend_films(model, rebuilt, matched, Filters(), 20)
        before_s.append(time.perf_counter() - started)

    now, before = statistics.median(now_s), statistics.median(before_s)
    print(f"catalog: {len(catalogs.catalog()):,} films; member: {len(matched)} films; {args.films} new films "
          f"per round, {args.rounds} rounds")
    print(f"now (extend catalog, index and view; score): median {now * 1000:.0f} ms")
    print(f"before (re-read and rebuild everything; score): median {before * 1000:.0f} ms")
    print(f"ratio before/now: {before / now:.1f}x")
    shutil.rmtree(var, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
