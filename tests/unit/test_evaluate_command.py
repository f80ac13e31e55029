"""The evaluate command: rating and item files in, the quality protocol's report out."""
from __future__ import annotations

import json
import sys

import pytest

from infra.evaluate_command import run_evaluate_cli
from tests.unit.test_model_store import films, ratings


def test_the_evaluate_command_reads_csvs_and_prints_json_or_a_table(tmp_path):
    users, items, values = ratings()
    ratings_csv = tmp_path / "ratings.csv"
    ratings_csv.write_text("user,item,rating\n" + "".join(
        f"u{u},{i},{v:g}\n" for u, i, v in zip(users, items, values)))
    items_csv = tmp_path / "items.csv"
    items_csv.write_text("item,title,year,genres\n" + "".join(
        f"{f.film_id},{f.title},{f.year},Drama|Comedy\n" for f in films()))
    report = json.loads(run_evaluate_cli(ratings_csv, items_csv, k=5, seed=0, as_json=True,
                                         models=["popularity", "content"]))
    assert report["k"] == 5 and set(report["models"]) == {"popularity", "content"}
    table = run_evaluate_cli(ratings_csv, None, k=5, seed=0, as_json=False, models=["popularity", "content"])
    assert "popularity" in table and "no item metadata" in table


def test_evaluate_names_the_missing_package_of_an_optional_candidate_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sansa", None)  # as on a machine without the package
    with pytest.raises(RuntimeError, match="pip install scikit-sparse sansa"):
        run_evaluate_cli(tmp_path / "never-read.csv", None, models=["hybrid", "sansa"])
