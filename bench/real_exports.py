"""Real Letterboxd members' exports against the catalog: films and list rows matched, and recall of held-out favourites.

    .venv/bin/python bench/real_exports.py [--exports ../shared/real-exports] [--data data]
        [--no-recall] [--var DIR] [--seed 0] [--count 50] [--json] [--unmatched N]

Reads every dNN.zip of the exports folder where it lies (nothing is copied). Per export:
  films read     distinct watched films, as the app counts them (`services.profile_summary.profile_block`)
  matched        of those, how many the app's matcher finds in the catalog, and why the others were not
  list rows      rows of the member's own list exports (lists/*.csv), read by the app's list reader
                 (`services.lists.parse_list_text`) and matched one by one
Then, unless --no-recall, for each export with enough ratings: a seeded 20% of the films the
member rated 4 stars or more (those that match the catalog) is taken out of every file of the
export, the rest goes through the app's own path (`facade.build_request` + `facade.run_sync`,
as `main.py recommend --export` does) for `--count` picks, and
  recall@K = held-out favourites among the picks / min(K, held-out favourites)
beside the same figure for popularity from the same corpus (the K most-rated corpus films the
member has not seen), and the share of picks released 2014 or later. A runtime folder given
with --var (its store and model) is reused, so the model is trained once.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.datasets import CATALOG_FILE  # noqa: E402
from infra.rating_files import load_items_csv  # noqa: E402
from infra.export_reader import read_upload  # noqa: E402
from services.export_import import profile_from_export  # noqa: E402
from services.lists import parse_list_text  # noqa: E402
from services.matching import CatalogIndex, match_profile  # noqa: E402
from services.profile_summary import profile_block  # noqa: E402

MAX_UPLOAD = 100_000_000
FAVOURITE_STARS = 4.0
HOLDOUT = 0.2
MIN_FAVOURITES = 10  # an export with fewer matched favourites is left out of the recall part
RECENT_FROM = 2014
RECENT_MEMBER = 0.3  # a member with this share of their matched films from RECENT_FROM on logs recent films
FILM_FILES = ("ratings.csv", "diary.csv", "watched.csv", "likes/films.csv", "reviews.csv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=Path, default=ROOT.parent / "shared" / "real-exports")
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--no-recall", action="store_true", help="print the match tables alone")
    parser.add_argument("--var", type=Path, default=None, help="runtime folder to reuse (store and trained model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--unmatched", type=int, default=0, help="list up to N unmatched films per export")
    args = parser.parse_args(argv)
    exports = sorted(args.exports.glob("d*.zip"))
    if not exports:
        print(f"no dNN.zip exports in {args.exports}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    films = load_items_csv(args.data / CATALOG_FILE)
    index = CatalogIndex(films)
    index_s = time.perf_counter() - started
    report: dict = {"catalog_films": len(index), "index_build_s": round(index_s, 2), "exports": []}
    for path in exports:
        report["exports"].append(match_figures(path, index, args.unmatched))
    report["total"] = pooled(report["exports"])
    if not args.no_recall:
        report["recall"] = recall_figures(exports, index, args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_tables(report)
    return 0


# -- matching --------------------------------------------------------------------------

def match_figures(path: Path, index: CatalogIndex, list_unmatched: int = 0) -> dict:
    """Films read, matched and unmatched by reason; list rows matched; time to match the export."""
    raw = path.read_bytes()
    profile = profile_from_export(read_upload(raw, path.name, MAX_UPLOAD))
    started = time.perf_counter()
    matched = match_profile(profile, index)
    match_ms = (time.perf_counter() - started) * 1000
    block = profile_block(profile, matched)
    reasons = Counter(item.reason or "unmatched" for item in matched
                      if item.film is None and item.entry.watched)
    seen_rows = [item for item in matched if item.entry.watched]
    row = {
        "export": path.stem, "films": block["films"], "matched": block["matched"],
        "unmatched": dict(sorted(reasons.items())), "profile_entries": len(profile.films),
        "seen_entries_matched": sum(item.film is not None for item in seen_rows),
        "match_ms": round(match_ms, 1),
    }
    list_rows = list_matched = 0
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for name in sorted(archive.namelist()):
            if name.startswith("lists/") and name.endswith(".csv"):
                titles, _ = parse_list_text(archive.read(name).decode("utf-8-sig"))
                list_rows += len(titles)
                list_matched += sum(index.match(entry) is not None for entry in titles)
    row.update(list_rows=list_rows, list_matched=list_matched)
    if list_unmatched:
        row["unmatched_films"] = [f"{item.entry.title} ({item.entry.year}): {item.reason}" for item in matched
                                  if item.film is None and item.entry.watched][:list_unmatched]
    return row


def pooled(rows: list[dict]) -> dict:
    """The export rows summed."""
    reasons: Counter = Counter()
    for row in rows:
        reasons.update(row["unmatched"])
    return {"export": "all", "films": sum(r["films"] for r in rows), "matched": sum(r["matched"] for r in rows),
            "unmatched": dict(sorted(reasons.items())), "list_rows": sum(r["list_rows"] for r in rows),
            "list_matched": sum(r["list_matched"] for r in rows),
            "match_ms": round(sum(r["match_ms"] for r in rows), 1)}


# -- recall of held-out favourites -----------------------------------------------------

def recall_figures(exports: list[Path], index: CatalogIndex, args: argparse.Namespace) -> list[dict]:
    """Per export with enough favourites: recall@K of the app's picks and of popularity, and recent picks."""
    from config import load_settings
    from recommender.composition import build

    var = args.var or Path(tempfile.mkdtemp(prefix="real-exports-"))
    # Offline, as a member without a TMDB key would be served: the embedded catalog and corpus only.
    facade = build(load_settings(overrides={"var_dir": var, "data_dir": args.data, "tmdb_key": "",
                                            "redis_url": "", "ratelimit_enabled": False}))
    started = time.perf_counter()
    if facade.bootstrap is not None:
        facade.bootstrap.wait(full=True)  # the models, fitted here when the runtime folder has none
    rows = [{"export": "model", "ready_s": round(time.perf_counter() - started, 1)}]
    for path in exports:
        raw = path.read_bytes()
        profile = profile_from_export(read_upload(raw, path.name, MAX_UPLOAD))
        matched = match_profile(profile, index)
        favourites = sorted({item.film.film_id for item in matched if item.film is not None
                             and item.entry.rating is not None and item.entry.rating >= FAVOURITE_STARS})
        if len(favourites) < MIN_FAVOURITES:
            rows.append({"export": path.stem, "favourites": len(favourites), "skipped": "too few favourites"})
            continue
        rng = random.Random(f"{args.seed}:{path.stem}")
        held_ids = set(rng.sample(favourites, max(1, int(len(favourites) * HOLDOUT))))
        # Every name the member logged a held-out film under goes, so the member has not seen it.
        upload = export_without(raw, {(item.entry.title, item.entry.year) for item in matched
                                      if item.film is not None and item.film.film_id in held_ids})
        started = time.perf_counter()
        status, answer = facade.run_sync(facade.build_request(
            {"count": args.count, "sync": True, "include_streaming": False}, upload, path.name), "bench")
        run_s = time.perf_counter() - started
        if status != 200:
            rows.append({"export": path.stem, "favourites": len(favourites), "skipped": f"status {status}"})
            continue
        picks = answer.get("recommendations", [])
        pick_ids = [p.get("film_id") for p in picks]
        hits = len(held_ids & set(pick_ids))
        kept = match_profile(profile_from_export(read_upload(upload, path.name, MAX_UPLOAD)), index)
        seen = {item.film.film_id for item in kept if item.film is not None and item.entry.watched}
        if seen & held_ids:
            raise SystemExit(f"{path.stem}: held-out films are still in the export")
        popular = popularity(facade, seen, args.count)
        denominator = min(args.count, len(held_ids))
        years = [p.get("year") for p in picks if p.get("year")]
        logged = [item.film.year for item in kept if item.film is not None and item.film.year]
        rows.append({
            "export": path.stem, "favourites": len(favourites), "held_out": len(held_ids), "picks": len(picks),
            "recall": round(hits / denominator, 3), "popularity_recall": round(len(held_ids & set(popular))
                                                                               / denominator, 3),
            "recent_share": round(sum(y >= RECENT_FROM for y in years) / max(1, len(picks)), 3),
            "logged_recent_share": round(sum(y >= RECENT_FROM for y in logged) / max(1, len(logged)), 3),
            "seconds": round(run_s, 1),
        })
    return rows


def popularity(facade, seen: set[int], count: int) -> list[int]:
    """The `count` films most rated in the corpus that the member has not seen."""
    import numpy as np

    _, film_ids, _ = facade.store.corpus()
    counts = np.bincount(film_ids)
    order = np.argsort(-counts, kind="stable")
    return [int(f) for f in order if counts[f] > 0 and int(f) not in seen][:count]


def export_without(raw: bytes, held: set[tuple[str, int | None]]) -> bytes:
    """The export ZIP with every row of the held-out films taken out of every film file."""
    wanted = {(title, "" if year is None else str(year)) for title, year in held}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as archive, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename in FILM_FILES:
                data = _without_rows(data, wanted)
            target.writestr(info.filename, data)
    return out.getvalue()


def _without_rows(data: bytes, wanted: set[tuple[str, str]]) -> bytes:
    text = data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows:
        return data
    header = rows[0]
    at = {name.strip(): i for i, name in enumerate(header)}
    if "Name" not in at or "Year" not in at:
        return data
    kept = [header] + [row for row in rows[1:] if len(row) <= max(at["Name"], at["Year"])
                       or (row[at["Name"]].strip(), row[at["Year"]].strip()) not in wanted]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(kept)
    return buffer.getvalue().encode("utf-8")


# -- printing --------------------------------------------------------------------------

def print_tables(report: dict) -> None:
    print(f"catalog: {report['catalog_films']:,} films; index built in {report['index_build_s']} s")
    print(f"{'export':<7} {'films':>6} {'matched':>8} {'%':>6}  {'not in catalog':>14} {'year differs':>12} "
          f"{'ambiguous':>9}  {'list rows':>9} {'matched':>8} {'%':>6} {'match ms':>9}")
    for row in [*report["exports"], report["total"]]:
        why = row["unmatched"]
        lists = (f"{row['list_rows']:>9} {row['list_matched']:>8} {_pct(row['list_matched'], row['list_rows']):>6}"
                 if row["list_rows"] else f"{'-':>9} {'-':>8} {'-':>6}")
        print(f"{row['export']:<7} {row['films']:>6} {row['matched']:>8} {_pct(row['matched'], row['films']):>6}  "
              f"{why.get('not in catalog', 0):>14} {why.get('year differs', 0):>12} {why.get('ambiguous', 0):>9}  "
              f"{lists} {row['match_ms']:>9}")
        for line in row.get("unmatched_films", ()):
            print(f"    {line}")
    if "recall" in report:
        print()
        print(f"model ready in {report['recall'][0]['ready_s']} s")
        print(f"{'export':<7} {'favourites':>10} {'held out':>8} {'recall@K':>9} {'popularity':>10} "
              f"{'picks 2014+':>11} {'logs 2014+':>10} {'seconds':>8}")
        done = [r for r in report["recall"] if "recall" in r]
        for row in report["recall"]:
            if "ready_s" in row:
                continue
            if "recall" not in row:
                print(f"{row['export']:<7} {row['favourites']:>10}  ({row['skipped']})")
                continue
            print(f"{row['export']:<7} {row['favourites']:>10} {row['held_out']:>8} {row['recall']:>9.3f} "
                  f"{row['popularity_recall']:>10.3f} {row['recent_share']:>11.0%} "
                  f"{row['logged_recent_share']:>10.0%} {row['seconds']:>8}")
        if done:
            mean = sum(r["recall"] for r in done) / len(done)
            base = sum(r["popularity_recall"] for r in done) / len(done)
            recent = sum(r["recent_share"] for r in done) / len(done)
            print(f"{'mean':<7} {'':>10} {'':>8} {mean:>9.3f} {base:>10.3f} {recent:>11.0%}")
            modern = [r for r in done if r["logged_recent_share"] >= RECENT_MEMBER]
            if modern:
                print(f"members who log mostly recent films ({RECENT_MEMBER:.0%} or more of their films from "
                      f"{RECENT_FROM} on): {len(modern)}, their picks from {RECENT_FROM} on "
                      f"{sum(r['recent_share'] for r in modern) / len(modern):.0%}")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}" if whole else "-"


if __name__ == "__main__":
    sys.exit(main())
