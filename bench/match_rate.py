"""Print how many films of Letterboxd exports match the catalog in data/, offline.

    .venv/bin/python bench/match_rate.py [EXPORT.zip ...] [--data DIR] [--unmatched]

Defaults to the two exports in tests/data/. Matching uses the same catalog the app
serves (the films of data/catalog.csv.gz) and the same matcher (services.matching).
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from infra.datasets import CATALOG_FILE  # noqa: E402
from infra.rating_files import load_items_csv  # noqa: E402
from infra.export_reader import read_upload  # noqa: E402
from services.export_import import profile_from_export  # noqa: E402
from services.matching import CatalogIndex, match_profile  # noqa: E402

DEFAULT_EXPORTS = ("tests/data/sample_export.zip", "tests/data/modern_export.zip")
MAX_UPLOAD = 100_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exports", nargs="*", default=[str(ROOT / p) for p in DEFAULT_EXPORTS])
    parser.add_argument("--data", default=str(ROOT / "data"))
    parser.add_argument("--unmatched", action="store_true", help="list the films that did not match")
    args = parser.parse_args(argv)
    films = load_items_csv(Path(args.data) / CATALOG_FILE)
    index = CatalogIndex(films)
    print(f"catalog: {len(index):,} films")
    for name in args.exports:
        path = Path(name)
        if not path.is_file():
            print(f"{path}: missing")
            continue
        profile = profile_from_export(read_upload(path.read_bytes(), path.name, MAX_UPLOAD))
        matched = match_profile(profile, index)
        hits = sum(m.film is not None for m in matched)
        reasons = collections.Counter(getattr(m, "reason", None) or "unmatched" for m in matched if m.film is None)
        detail = ", ".join(f"{why} {n}" for why, n in sorted(reasons.items()))
        print(f"{path.name}: {hits} of {len(matched)} films matched ({100 * hits / max(1, len(matched)):.1f}%)"
              + (f"; not matched: {detail}" if detail else ""))
        if args.unmatched:
            for m in matched:
                if m.film is None:
                    print(f"    {m.entry.title} ({m.entry.year}): {getattr(m, 'reason', None) or 'unmatched'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
