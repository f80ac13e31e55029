"""The command line: recommend, group, compare and year-review print JSON or text, and a failure as one line."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from main import main
from tests.integration.test_together import export_with_name
from tests.support.var import copy_var

SAMPLE_EXPORT = Path(__file__).resolve().parents[1] / "data" / "sample_export.zip"


@pytest.fixture
def cli(live_app, shared_var, fake_upstreams, tmp_path, monkeypatch, capsys):
    """Run main() against the fake upstreams and a copy of the session's store; returns (code, stdout, stderr)."""
    env = {**fake_upstreams.env(), "VAR_DIR": str(copy_var(shared_var, tmp_path / "var")), "LOG_LEVEL": "WARNING",
           "LETTERBOXD_RETRY_SLEEP_S": "0", "LETTERBOXD_THROTTLE_SLEEP_S": "0"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("REDIS_URL", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.mark.timeout(180, func_only=True)
def test_recommend_prints_the_payload_as_json_or_as_a_table(cli):
    code, out, err = cli("recommend", "--export", str(SAMPLE_EXPORT), "--count", "4", "--no-streaming", "--json")
    assert code == 0, err
    titles = [rec["title"] for rec in json.loads(out)["recommendations"]]
    assert len(titles) == 4

    code, out, err = cli("recommend", "--export", str(SAMPLE_EXPORT), "--count", "4", "--no-streaming")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line[:3].strip() in {"1", "2", "3", "4"}]
    assert len(rows) == 4 and "Title" in out


@pytest.mark.timeout(180, func_only=True)
def test_recommend_for_an_unknown_member_prints_one_error_line_and_no_answer(cli):
    code, out, err = cli("recommend", "nobody-here-at-all", "--no-streaming", "--json")
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and err.strip() != "error: None"


@pytest.mark.timeout(180, func_only=True)
def test_a_group_of_one_is_refused_with_one_error_line(cli):
    code, out, err = cli("group", "cinephile", "--json")
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1


@pytest.mark.timeout(180, func_only=True)
def test_group_prints_a_meter_per_member_and_compare_prints_json(cli):
    code, out, err = cli("group", "cinephile", "member001", "--count", "3", "--no-streaming", "--country", "US")
    assert code == 0, err
    rows = out.splitlines()
    assert len(rows) == 3 and all("cinephile " in row and "member001 " in row and row.endswith("%") for row in rows)

    code, out, err = cli("compare", "cinephile", "member003", "--no-streaming", "--json")
    assert code == 0, err
    body = json.loads(out)
    assert 0 <= body["percent"] <= 100 and [m["name"] for m in body["members"]] == ["cinephile", "member003"]


@pytest.mark.timeout(180, func_only=True)
def test_group_from_watchlists_prints_whose_watchlists_hold_each_film(cli, tmp_path):
    twin = tmp_path / "bo.zip"
    twin.write_bytes(export_with_name(SAMPLE_EXPORT.read_bytes(), "bo"))
    code, out, err = cli("group", "--export", str(SAMPLE_EXPORT), "--export", str(twin), "--from-watchlists",
                         "--count", "3", "--no-streaming")
    assert code == 0, err
    lines = out.splitlines()
    assert "films on your watchlists" in lines[0] and "3 ranked" in lines[0]
    films = [line for line in lines if line[:3].strip() in {"1", "2", "3"}]
    held = [line.strip() for line in lines if line.strip().startswith("on the watchlists of")]
    assert len(films) == 3 and all("samplecinephile " in line and "bo " in line for line in films)
    assert held == ["on the watchlists of samplecinephile, bo"] * 3


@pytest.mark.timeout(180, func_only=True)
def test_year_review_prints_json_or_a_summary(cli):
    code, out, err = cli("year-review", "--export", str(SAMPLE_EXPORT), "--json")
    assert code == 0, err
    review = json.loads(out)
    assert review["logs"] >= 1 and len(review["months"]) == 12

    code, out, err = cli("year-review", "--export", str(SAMPLE_EXPORT), "--year", str(review["year"]))
    assert code == 0, err
    assert out.splitlines()[0].endswith(f"{review['year']} in film")
    assert f"{review['logs']} films logged" in out


def test_a_missing_export_file_is_named(cli, tmp_path):
    missing = tmp_path / "nowhere.zip"
    for argv in (("recommend", "--export", str(missing)), ("group", "cinephile", "--export", str(missing)),
                 ("year-review", "--export", str(missing))):
        code, out, err = cli(*argv)
        assert (code, out, err) == (2, "", f"error: no such file: {missing}\n")
