"""How personal the first reason of each pick is: generic, or naming one of the member's own films.

    .venv/bin/python bench/explanations.py                 # production settings (tuned, about a minute)
    .venv/bin/python bench/explanations.py --quick         # QUICK_SETTINGS, seconds

The model is trained on the embedded corpus minus --diaries members (a seeded sample
of members with at least --min-films ratings), whose ratings then come back as
diaries the model never saw. For them and for tests/data/sample_export.zip, the
first reason of every pick is classed: generic (the "members whose taste matches
yours" line or "a strong match"), naming one of the member's films, naming a person
(director or actor) only, or other. Targets: at most 20% generic, at least 50%
naming a film of the member's.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.export_reader import read_upload  # noqa: E402
from infra.store import Store  # noqa: E402
from services.catalog import Catalog  # noqa: E402
from services.domain import MatchedFilm, ProfileFilm  # noqa: E402
from services.export_import import profile_from_export  # noqa: E402
from services.filters import Filters  # noqa: E402
from services.matching import CatalogIndex, match_profile  # noqa: E402
from services.recsys import QUICK_SETTINGS, Corpus, HybridSettings, fit, recommend_films  # noqa: E402
from services.recsys.explain import GENERIC_REASON  # noqa: E402

TARGET_GENERIC = 0.20
TARGET_NAMED = 0.50


def classify(reason: str, titles: set[str]) -> str:
    """Return generic, film, person or other for a first reason."""
    if reason == GENERIC_REASON or reason.startswith("A strong match"):
        return "generic"
    if any(title in reason for title in titles):
        return "film"
    if reason.startswith(("Directed by", "Stars ")):
        return "person"
    return "other"


def shares(members: list[list[MatchedFilm]], model, catalog: Catalog, count: int) -> dict[str, float]:
    """Return the share of first reasons of each class over every pick of these members."""
    tally = {"generic": 0, "film": 0, "person": 0, "other": 0}
    for matched in members:
        titles = {m.film.title for m in matched if m.film is not None and len(m.film.title) >= 3}
        for pick in recommend_films(model, catalog, matched, Filters(), count):
            tally[classify(pick.reasons[0], titles)] += 1
    total = max(1, sum(tally.values()))
    return {k: v / total for k, v in tally.items()} | {"picks": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--diaries", type=int, default=60)
    parser.add_argument("--min-films", type=int, default=15)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    store = Store.open(Path(tempfile.mkdtemp(prefix="bench-explain-")) / "store.sqlite", ROOT / "data")
    users, film_ids, ratings = store.corpus()
    catalog = Catalog(store.films())
    counts = np.bincount(np.unique(users, return_inverse=True)[1])
    ids = np.unique(users)
    rng = np.random.default_rng(args.seed)
    eligible = ids[counts >= args.min_films]
    held = set(rng.choice(eligible, min(args.diaries, eligible.size), replace=False).tolist())
    keep = ~np.isin(users, list(held))
    started = time.perf_counter()
    model = fit(Corpus(users[keep], film_ids[keep], ratings[keep], 10.0), catalog,
                QUICK_SETTINGS if args.quick else HybridSettings(seed=args.seed))
    print(f"trained on {int(keep.sum()):,} ratings in {time.perf_counter() - started:.0f}s; "
          f"{len(held)} members held out as diaries")

    diaries = []
    for user in sorted(held):
        mine = users == user
        diaries.append([MatchedFilm(ProfileFilm(title=catalog.by_id(int(f)).title, rating=float(r) / 2.0),
                                    catalog.by_id(int(f))) for f, r in zip(film_ids[mine], ratings[mine])])
    export = read_upload((ROOT / "tests" / "data" / "sample_export.zip").read_bytes(), "sample_export.zip",
                         1 << 26)
    sample = match_profile(profile_from_export(export), CatalogIndex(catalog.films))

    print(f"\n{'members':<28}{'picks':>7}{'generic':>9}{'names film':>12}{'person':>8}{'other':>8}")
    for label, members in (("sample export", [sample]), (f"{len(diaries)} held-out diaries", diaries)):
        result = shares(members, model, catalog, args.count)
        print(f"{label:<28}{result['picks']:>7}{result['generic']:>9.0%}{result['film']:>12.0%}"
              f"{result['person']:>8.0%}{result['other']:>8.0%}")
        print(f"{'':<28}targets: generic <= {TARGET_GENERIC:.0%} "
              f"({'met' if result['generic'] <= TARGET_GENERIC else 'NOT met'}), names a film >= "
              f"{TARGET_NAMED:.0%} ({'met' if result['film'] >= TARGET_NAMED else 'NOT met'})")


if __name__ == "__main__":
    main()
