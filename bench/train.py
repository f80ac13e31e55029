"""Train the production model and report time, peak memory and file size.

    .venv/bin/python bench/train.py                          # synthetic: 1M ratings, 4,000 x 7,500
    .venv/bin/python bench/train.py --store                  # the embedded corpus, as `main.py train` does
    .venv/bin/python bench/train.py --ratings my.csv         # any user,item,rating file (0-10 scale)

Training runs in a child process so its peak resident memory is its own. The
same run also times the part that needs no tuning (one fit with the chosen
hyperparameters), the baseline the tuning is paid on top of.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 60.0
TARGET_MB = 2048.0


def child(args: argparse.Namespace) -> None:
    """Train once (tuned), then once more with the chosen settings; print JSON figures."""
    import numpy as np

    from infra.datasets import load_ratings_csv
    from infra.model_store import save_model, train_model
    from services.hybrid import HybridSettings, fit_hybrid

    out_dir = Path(tempfile.mkdtemp(prefix="bench-train-"))
    started = time.perf_counter()
    if args.store:
        from infra.store import Store

        store = Store.open(out_dir / "store.sqlite", ROOT / "data")
        opened = time.perf_counter() - started
        started = time.perf_counter()
        model = train_model(store)
        n_ratings = int(store.corpus()[0].size)
        fit = lambda settings: train_model(store, settings)  # noqa: E731
    else:
        opened = 0.0
        if args.ratings:
            users, items, ratings = load_ratings_csv(args.ratings)
        else:
            from bench.synthetic import generate

            users, items, ratings, _, _ = generate(n_ratings=args.n_ratings, seed=args.seed)
        started = time.perf_counter()
        model = fit_hybrid(users, items, ratings, 10.0)
        n_ratings = int(np.asarray(ratings).size)
        fit = lambda settings: fit_hybrid(users, items, ratings, 10.0, settings=settings)  # noqa: E731
    tuned_s = time.perf_counter() - started
    version = save_model(model, out_dir / "models")
    size = (out_dir / "models" / f"{version}.npz").stat().st_size
    fixed = HybridSettings(l2=model.l2, blend=model.blend, als_regularization=model.als_regularization)
    started = time.perf_counter()
    fit(fixed)
    fixed_s = time.perf_counter() - started
    print(json.dumps({
        "ratings": n_ratings, "items": model.n_items, "users": model.n_users, "open_store_s": opened,
        "train_s": tuned_s, "fixed_s": fixed_s, "model_mb": size / 2**20, "l2": model.l2,
        "blend": model.blend, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", action="store_true", help="train on the embedded corpus")
    parser.add_argument("--ratings", type=Path, help="user,item,rating CSV on a 0-10 scale")
    parser.add_argument("--n-ratings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    command = [sys.executable, __file__, "--child", "--n-ratings", str(args.n_ratings), "--seed", str(args.seed)]
    if args.store:
        command.append("--store")
    if args.ratings:
        command += ["--ratings", str(args.ratings)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(result.returncode)
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    source = "embedded corpus" if args.store else (args.ratings or "synthetic set")
    print(f"{source}: {figures['ratings']:,} ratings, {figures['users']:,} users, model covers "
          f"{figures['items']:,} films")
    print(f"train (tuning L2, ALS and blend on held-out users, then refit): {figures['train_s']:.1f}s "
          f"(target < {TARGET_S:.0f}s: {'met' if figures['train_s'] < TARGET_S else 'NOT met'})")
    print(f"refit with the chosen settings only (baseline):               {figures['fixed_s']:.1f}s "
          f"-> tuning costs {figures['train_s'] / max(figures['fixed_s'], 1e-9):.1f}x")
    print(f"peak memory of the training process: {figures['peak_mb']:.0f} MB "
          f"(target < {TARGET_MB:.0f} MB: {'met' if figures['peak_mb'] < TARGET_MB else 'NOT met'})")
    print(f"model file: {figures['model_mb']:.1f} MB; l2 {figures['l2']:g}; blend "
          f"{ {k: round(v, 3) for k, v in figures['blend'].items()} }")


if __name__ == "__main__":
    main()
