"""An imported corpus end to end: members outside it get picks at least as good as binary EASE on it.

    nice .venv/bin/python bench/import_quality.py                       # 1M ratings, 80 new members
    nice .venv/bin/python bench/import_quality.py --work /tmp/iq --reuse   # again, on the model trained before

A synthetic Letterboxd-like rating set (`bench/synthetic.py`: ~1M ratings, 1-10, of
4,000 members and 7,500 films titled "Film N" with a year and genres) is split by
member: a seeded set of members is held out entirely (the new members); the others'
ratings go into a fresh runtime folder through `main.py import-ratings`, then
`main.py train` fits the model on them together with the embedded corpus. Both run
as child processes; their wall time, CPU time and peak memory are printed.

Each new member's ratings are split with a seed: 80% become a Letterboxd export ZIP
in the real format (ratings.csv and watched.csv, half stars), 20% are held out;
relevant = held-out films rated at least services.holdout.RELEVANT_FRACTION x 10, as
in `main.py evaluate`. The export goes through `main.py recommend --export ZIP --count
20 --json` (read, match, fold in, rank: the command's own code, called in this
process with its output captured), and the picks' titles and years are mapped back to
the synthetic films; a pick from the embedded catalog counts as a miss.

Baseline, same run: binary EASE fitted on the same imported ratings, its L2 chosen by
the project's geometric walk on an inner split of the corpus members (never on the new
members), scoring each new member's 80% and excluding those films. Both are scored
with services.holdout.recall_ndcg (Recall@20, NDCG@20, binary gains).

Exit status: 0 when the run completed (whether or not the app beats EASE), 1 on a
setup error (an import, train or recommend that failed).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "data"))
sys.path.insert(0, str(ROOT / "bench"))

from make_sample_export import build_zip, csv_bytes, short_link, stars_text  # noqa: E402
from synthetic import generate  # noqa: E402

from services import holdout  # noqa: E402
from services.baselines import EaseModel, binary  # noqa: E402
from services.recsys.blend import walk_grid  # noqa: E402

K = 20
SCALE = 10.0
MIN_MEMBER_RATINGS = 20  # a new member's export holds at least 16 rated films
KEEP_SHARE = 1.0 - holdout.HOLDOUT_FRACTION
EASE_L2_START, EASE_L2_STEP, EASE_L2_MAX_STEPS = 400.0, 2.5, 4  # as services.evaluation tunes EASE
TUNING_USERS = 2000
TITLE = re.compile(r"^Film (\d+)$")


def choose_members(users: np.ndarray, items: np.ndarray, ratings: np.ndarray, n_users: int, count: int,
                   seed: int) -> tuple[np.ndarray, dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Pick `count` members (seeded) with enough ratings and a relevant film among their held-out 20%.

    Returns the chosen members and, per member, (kept items, kept ratings, relevant held-out items).
    """
    rng = np.random.default_rng(seed)
    per_user = np.bincount(users, minlength=n_users)
    candidates = rng.permutation(np.flatnonzero(per_user >= MIN_MEMBER_RATINGS))
    order = np.argsort(users, kind="stable")
    starts = np.concatenate([[0], np.cumsum(per_user)])
    chosen, splits = [], {}
    for u in candidates:
        rows = order[starts[u]:starts[u + 1]]
        rows = rows[rng.permutation(rows.size)]
        n_keep = int(round(rows.size * KEEP_SHARE))
        kept, held = rows[:n_keep], rows[n_keep:]
        relevant = items[held][ratings[held] >= holdout.RELEVANT_FRACTION * SCALE]
        if relevant.size == 0:
            continue  # skipped, as the evaluation protocol skips them
        chosen.append(int(u))
        splits[int(u)] = (items[kept], ratings[kept], relevant)
        if len(chosen) == count:
            break
    return np.array(sorted(chosen)), splits


def write_corpus(out: Path, users, items, ratings, years, genres, exclude: np.ndarray) -> tuple[Path, Path]:
    """Write the corpus members' ratings and every film, in the files `import-ratings` reads."""
    keep = ~np.isin(users, exclude)
    ratings_path, items_path = out / "ratings.csv", out / "items.csv"
    with ratings_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "rating"])
        writer.writerows(zip(users[keep].tolist(), items[keep].tolist(), ratings[keep].astype(int).tolist()))
    with items_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "title", "year", "genres"])
        for item in range(len(years)):
            writer.writerow([item, f"Film {item}", int(years[item]), "|".join(genres[item])])
    return ratings_path, items_path


def export_zip(member: int, kept_items: np.ndarray, kept_ratings: np.ndarray, years: np.ndarray) -> bytes:
    """A Letterboxd export of the member's kept films: ratings.csv and watched.csv, half stars."""
    base = ["Date", "Name", "Year", "Letterboxd URI"]
    watched, rated = [], []
    for n, (item, rating) in enumerate(zip(kept_items.tolist(), kept_ratings.tolist())):
        date = f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}"
        link = short_link(item)
        watched.append([date, f"Film {item}", int(years[item]), link])
        rated.append([date, f"Film {item}", int(years[item]), link, stars_text(rating / 2)])
    return build_zip({
        "profile.csv": csv_bytes(["Date Joined", "Username"], [["2020-01-01", f"newmember{member}"]]),
        "ratings.csv": csv_bytes(base + ["Rating"], rated),
        "watched.csv": csv_bytes(base, watched),
    })


def run_child(argv: list[str], env: dict[str, str], log: Path) -> dict:
    """Run a command under nice; return its wall time, CPU time and peak memory (its own, via wait4)."""
    start = time.perf_counter()
    with log.open("wb") as out:
        child = subprocess.Popen(["nice", "-n", "10", *argv], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if child.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(argv[1:3])} failed with status {child.returncode}:\n{tail}")
    return {"wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_mb": round(usage.ru_maxrss / 1024)}


def setup(work: Path, env: dict[str, str], ratings_path: Path, items_path: Path, corpus_key: dict) -> dict:
    """Import the corpus and train the model in work/var; return the figures of both."""
    python = str(ROOT / ".venv" / "bin" / "python")
    figures: dict = {"corpus": corpus_key}
    figures["import"] = run_child([python, "main.py", "import-ratings", "--ratings", str(ratings_path),
                                  "--items", str(items_path), "--source", "synthetic"], env, work / "import.log")
    figures["train"] = run_child([python, "main.py", "train"], env, work / "train.log")
    figures["import_report"] = [line for line in (work / "import.log").read_text(errors="replace").splitlines()
                                if line.strip() and not line.startswith("import") and "rating/s" not in line][-8:]
    (work / "setup.json").write_text(json.dumps(figures, indent=2))
    return figures


def app_picks(main_module, zip_path: Path) -> dict:
    """Run `main.py recommend --export ZIP --count 20 --json --no-streaming` in this process; return its payload."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main_module.main(["recommend", "--export", str(zip_path), "--count", str(K), "--json",
                                   "--no-streaming"])
    if status != 0:
        raise RuntimeError(f"recommend --export {zip_path.name} failed ({status}): {err.getvalue()[-1000:]}")
    return json.loads(out.getvalue())


def item_of(card: dict, years: np.ndarray, pad: int) -> int:
    """Map a pick back to its synthetic film (by title and year); a film of the embedded catalog maps to pad."""
    found = TITLE.match(card.get("title") or "")
    if not found:
        return pad
    item = int(found.group(1))
    if item >= len(years) or abs(int(years[item]) - int(card.get("year") or 0)) > 1:
        return pad
    return item


def tune_ease_l2(matrix: sp.csr_matrix, seed: int) -> tuple[float, dict[float, float]]:
    """Choose EASE's L2 as `main.py evaluate` does: a geometric walk on an inner split of the corpus members."""
    coo = matrix.tocoo()
    split = holdout.holdout_split(coo.row, coo.col, coo.data, matrix.shape[0], matrix.shape[1], SCALE, seed)
    train = sp.csr_matrix((np.ones(split.train_users.size, dtype=np.float32),
                           (split.train_users, split.train_items)), shape=matrix.shape)
    rng = np.random.default_rng(seed)
    users = split.eval_users
    if users.size > TUNING_USERS:
        users = np.sort(rng.choice(users, TUNING_USERS, replace=False))
    trials: dict[float, float] = {}

    def trial(l2: float) -> float:
        model = EaseModel(l2).fit(train)
        scores = holdout.mask_seen(model.score(train[users]), train[users])
        _, ndcg = holdout.recall_ndcg(holdout.top_k(scores, K), split.relevant[users], K)
        trials[l2] = float(ndcg.mean())
        return trials[l2]

    return walk_grid(trial, EASE_L2_START, EASE_L2_STEP, EASE_L2_MAX_STEPS), trials


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--members", type=int, default=80, help="new members, held out of the corpus entirely")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--users", type=int, default=4000)
    p.add_argument("--items", type=int, default=7500)
    p.add_argument("--ratings", type=int, default=1_000_000)
    p.add_argument("--work", type=Path, default=None, help="working folder (default: a fresh temporary one)")
    p.add_argument("--reuse", action="store_true",
                   help="reuse the import and model already in --work (same seed and sizes), skip both steps")
    args = p.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    var_dir = work / "var"
    env = {**os.environ, "VAR_DIR": str(var_dir), "TMDB_KEY": "", "REDIS_URL": "", "LOG_LEVEL": "WARNING",
           "LETTERBOXD_BASE_URL": "http://127.0.0.1:9"}

    t0 = time.perf_counter()
    users, items, ratings, years, genres = generate(args.users, args.items, args.ratings, args.seed)
    members, splits = choose_members(users, items, ratings, args.users, args.members, args.seed + 1)
    if members.size < args.members:
        print(f"error: only {members.size} members qualify", file=sys.stderr)
        return 1
    # The model in --work must be trained without exactly these members, or --reuse would leak them.
    corpus_key = {"seed": args.seed, "users": args.users, "items": args.items, "ratings": args.ratings,
                  "members": members.tolist()}
    in_corpus = ~np.isin(users, members)
    print(f"corpus: {int(in_corpus.sum()):,} ratings of {args.users - members.size:,} members and {args.items:,} "
          f"films (generated in {time.perf_counter() - t0:.0f} s); {members.size} new members held out entirely")

    try:
        if args.reuse and (work / "setup.json").is_file():
            figures = json.loads((work / "setup.json").read_text())
            if figures.get("corpus") != corpus_key:
                raise RuntimeError(f"--reuse: {work} holds a model trained on another corpus (other members "
                                   f"left out); run without --reuse, or with the same --seed, sizes and --members")
            print("reusing the import and model in", var_dir)
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
            ratings_path, items_path = write_corpus(work, users, items, ratings, years, genres, members)
            figures = setup(work, env, ratings_path, items_path, corpus_key)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in figures["import_report"]:
        print(f"  {line}")
    for step, command in (("import", "import-ratings"), ("train", "train")):
        f = figures[step]
        print(f"{command:<15} wall {f['wall_s']:7.1f} s   cpu {f['cpu_s']:7.1f} s   peak {f['peak_mb']:6,} MB")

    # The app, through the command line's own code path.
    os.environ.update({k: env[k] for k in ("VAR_DIR", "TMDB_KEY", "REDIS_URL", "LOG_LEVEL", "LETTERBOXD_BASE_URL")})
    import main as main_module

    pad = args.items
    app_ranked = np.full((members.size, K), pad, dtype=np.int64)
    exported = matched = 0
    zips = work / "exports"
    zips.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    try:
        for row, member in enumerate(members.tolist()):
            kept_items, kept_ratings, _ = splits[member]
            zip_path = zips / f"member{member}.zip"
            zip_path.write_bytes(export_zip(member, kept_items, kept_ratings, years))
            payload = app_picks(main_module, zip_path)
            exported += kept_items.size
            matched += int(payload["profile"]["matched"])
            picked = [item_of(card, years, pad) for card in payload["recommendations"]][:K]
            app_ranked[row, :len(picked)] = picked
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    app_s = time.perf_counter() - t0

    # The baseline: binary EASE on the same corpus, L2 chosen on the corpus members.
    t0 = time.perf_counter()
    corpus = sp.csr_matrix((ratings[in_corpus], (users[in_corpus], items[in_corpus])), shape=(args.users, args.items))
    l2, trials = tune_ease_l2(corpus, args.seed + 2)
    ease = EaseModel(l2).fit(corpus)
    member_rows = sp.csr_matrix(
        (np.concatenate([splits[m][1] for m in members.tolist()]),
         (np.repeat(np.arange(members.size), [splits[m][0].size for m in members.tolist()]),
          np.concatenate([splits[m][0] for m in members.tolist()]))), shape=(members.size, args.items))
    scores = holdout.mask_seen(ease.score(binary(member_rows)), member_rows)
    ease_ranked = holdout.top_k(scores, K)
    ease_s = time.perf_counter() - t0

    relevant = sp.csr_matrix(
        (np.ones(sum(splits[m][2].size for m in members.tolist()), dtype=np.float32),
         (np.repeat(np.arange(members.size), [splits[m][2].size for m in members.tolist()]),
          np.concatenate([splits[m][2] for m in members.tolist()]))), shape=(members.size, args.items + 1))
    app_recall, app_ndcg = holdout.recall_ndcg(app_ranked, relevant, K)
    ease_recall, ease_ndcg = holdout.recall_ndcg(ease_ranked, relevant, K)
    outside = int((app_ranked == pad).sum())

    print(f"new members: {members.size}; films in their exports {exported:,}, matched {matched:,} "
          f"({matched / max(1, exported):.1%}); {int(relevant.sum()):,} relevant held-out films")
    print(f"app  (main.py recommend --export, {app_s / members.size:.1f} s a member): NDCG@{K} {app_ndcg.mean():.4f}  "
          f"Recall@{K} {app_recall.mean():.4f}  ({outside} of {members.size * K} picks outside the imported films)")
    print(f"EASE (binary, L2 {l2:g} chosen on corpus members: "
          + ", ".join(f"{k:g}: {v:.4f}" for k, v in sorted(trials.items()))
          + f"; {ease_s:.0f} s): NDCG@{K} {ease_ndcg.mean():.4f}  Recall@{K} {ease_recall.mean():.4f}")
    ratio_ndcg = app_ndcg.mean() / ease_ndcg.mean() if ease_ndcg.mean() else float("inf")
    ratio_recall = app_recall.mean() / ease_recall.mean() if ease_recall.mean() else float("inf")
    wins = int((app_ndcg > ease_ndcg).sum()), int((app_ndcg < ease_ndcg).sum())
    print(f"app / EASE: NDCG@{K} {ratio_ndcg:.2f}x  Recall@{K} {ratio_recall:.2f}x  "
          f"(members where the app is ahead {wins[0]}, behind {wins[1]}); "
          f"target >= 1.00x: {'met' if ratio_ndcg >= 1.0 and ratio_recall >= 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
