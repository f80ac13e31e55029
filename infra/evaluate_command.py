"""The `evaluate` command: read a rating file (and items), run the quality protocol, format its report.

The protocol itself is services.evaluation; this module reads the files and prints.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from infra.rating_files import load_items_csv, load_ratings_csv

def format_report(report: dict) -> str:
    """Return the evaluation report as a fixed-width table."""
    lines = [
        f"users {report['users']:,}  items {report['items']:,}  evaluated users {report['eval_users']:,}  "
        f"K={report['k']}  seed={report.get('seed', 0)}",
        f"{'model':<12}{'recall':>9}{'ndcg':>9}{'fit_s':>10}{'p50_ms':>9}{'p95_ms':>9}{'size_MB':>9}",
    ]
    for name, row in report["models"].items():
        if "ndcg" not in row:
            lines.append(f"{name:<12}  {row.get('skipped', 'skipped')}")
            continue
        size = f"{row['model_bytes'] / 1e6:>9.1f}" if row.get("model_bytes") is not None else f"{'':>9}"
        lines.append(f"{name:<12}{row['recall']:>9.4f}{row['ndcg']:>9.4f}{row['fit_s']:>10.2f}"
                     f"{row['recommend_ms_p50']:>9.2f}{row['recommend_ms_p95']:>9.2f}{size}")
    return "\n".join(lines)


def format_cold_report(report: dict) -> str:
    """Return the cold-film evaluation as a fixed-width table."""
    lines = [
        f"users {report['users']:,}  items {report['items']:,}  films held out {report['cold_items']:,}  "
        f"evaluated users {report['eval_users']:,}  K={report['k']}  seed={report['seed']}",
        "ranking only the held-out films, none of which has a rating in training",
        f"{'model':<15}{'recall':>9}{'ndcg':>9}",
    ]
    for name, row in report["models"].items():
        lines.append(f"{name:<15}{row['recall']:>9.4f}{row['ndcg']:>9.4f}")
    return "\n".join(lines)


def run_evaluate_cli(ratings_path: Path, items_path: Path | None, k: int = 20, seed: int = 0,
                     as_json: bool = False, models: Sequence[str] | str | None = None,
                     cold_items: float | None = None) -> str:
    """Read the CSVs, run services.evaluation.evaluate (or the cold-film protocol) and return text."""
    from services.evaluation import ALL_MODELS, evaluate, evaluate_cold_items
    from services.baselines import SansaModel

    if cold_items is not None:
        if not 0.0 < cold_items < 1.0:
            raise ValueError("--cold-items is the share of films held out, between 0 and 1")
        users, items, ratings = load_ratings_csv(Path(ratings_path))
        item_meta = load_items_csv(Path(items_path)) if items_path else None
        report = evaluate_cold_items(users, items, ratings, cold_items, k=k, seed=seed, item_meta=item_meta)
        return json.dumps(_plain(report), indent=2) if as_json else format_cold_report(report)

    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    unknown = sorted(set(models or ()) - set(ALL_MODELS))
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; models: {', '.join(ALL_MODELS)}")
    if "sansa" in (models or ()):
        SansaModel.package()  # fail before minutes of tuning the other models
    users, items, ratings = load_ratings_csv(Path(ratings_path))
    item_meta = load_items_csv(Path(items_path)) if items_path else None
    report = evaluate(users, items, ratings, k=k, seed=seed, item_meta=item_meta, models=models)
    if as_json:
        return json.dumps(_plain(report), indent=2, sort_keys=False)
    return format_report(report)


def _plain(value: Any) -> Any:
    """Return a JSON-able copy (numpy scalars to Python, dict keys to strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
