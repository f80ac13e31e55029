from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from config import ROOT, Settings, load_settings


def test_defaults_match_the_documented_values(tmp_path):
    s = load_settings(environ={}, dotenv_path=tmp_path / "none")
    assert s.port == 8080 and s.cache_max_size == 10000 and s.job_result_ttl == 900
    assert s.letterboxd_circuit_failure_threshold == 5 and s.letterboxd_circuit_cooldown_s == 180
    assert s.max_upload_mb == 20 and s.ratelimit_enabled is True
    assert s.letterboxd_base_url == "https://letterboxd.com"
    assert s.limiter_storage == "memory://"
    assert s.cors_origins == ()


def test_environment_beats_dotenv_and_overrides_beat_both(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9000\nCACHE_MAX_SIZE=5\nCORS_ORIGINS=https://a.example, https://b.example\n")
    s = load_settings(environ={"PORT": "9100"}, overrides={"cache_max_size": 7}, dotenv_path=env_file)
    assert s.port == 9100
    assert s.cache_max_size == 7
    assert s.cors_origins == ("https://a.example", "https://b.example")


def test_redis_url_is_the_default_rate_limit_storage(tmp_path):
    s = load_settings(environ={"REDIS_URL": "redis://127.0.0.1:6399/0"}, dotenv_path=tmp_path / "none")
    assert s.limiter_storage == "redis://127.0.0.1:6399/0"


def test_bad_number_names_the_setting(tmp_path):
    with pytest.raises(ValueError, match="PORT"):
        load_settings(environ={"PORT": "eighty"}, dotenv_path=tmp_path / "none")


def test_public_view_hides_secrets(tmp_path):
    s = load_settings(environ={"TMDB_KEY": "secret-key", "INTERNAL_TOKEN": "tok"}, dotenv_path=tmp_path / "none")
    shown = s.public()
    assert shown["tmdb_key"] is True and shown["internal_token"] is True
    assert "secret-key" not in repr(shown)


def test_a_misspelt_override_is_an_error_that_names_the_setting(tmp_path):
    with pytest.raises(ValueError, match="RATELIMIT_ENABLED"):
        load_settings(environ={}, overrides={"ratelimit_enabeld": False}, dotenv_path=tmp_path / "none")


README = Path(__file__).resolve().parents[2] / "README.md"
APP_SOURCES = [p for folder in ("infra", "services", "recommender") for p in (ROOT / folder).rglob("*.py")] + \
    [ROOT / "main.py", ROOT / "routes.py", ROOT / "routes_together.py", ROOT / "gunicorn.conf.py"]


def readme_settings() -> set[str]:
    """The variables named in the first column of README's configuration table."""
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_readme_documents_every_setting_and_nothing_else():
    assert readme_settings() == {f.name.upper() for f in dataclasses.fields(Settings)}


def test_every_setting_is_read_outside_config():
    """Each field is read by the app itself, directly or through a Settings property that uses it."""
    code = "\n".join(p.read_text(encoding="utf-8") for p in APP_SOURCES)
    properties = {name: inspect.getsource(value.fget) for name, value in vars(Settings).items()
                  if isinstance(value, property)}
    unread = []
    for f in dataclasses.fields(Settings):
        readers = {f.name} | {name for name, source in properties.items() if f"self.{f.name}" in source}
        if not any(re.search(rf"\.{reader}\b", code) for reader in readers):
            unread.append(f.name)
    assert unread == []


def test_the_makefile_declares_only_targets_it_has():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = set(re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split())
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    assert phony and phony <= targets


def test_export_limits_have_their_documented_defaults_and_a_bad_date_names_its_setting(tmp_path):
    s = load_settings(environ={}, dotenv_path=tmp_path / "none")
    assert (s.export_max_rows_per_file, s.export_max_rows, s.export_max_films) == (30_000, 100_000, 20_000)
    assert s.export_max_title_chars == 300 and s.export_max_uncompressed_mb == 64
    assert s.export_earliest_date == "1900-01-01"
    with pytest.raises(ValueError, match="EXPORT_EARLIEST_DATE"):
        load_settings(environ={"EXPORT_EARLIEST_DATE": "1900"}, dotenv_path=tmp_path / "none")


def test_blas_threads_default_to_one_and_must_be_positive(tmp_path):
    assert load_settings(environ={}, dotenv_path=tmp_path / "none").blas_threads == 1
    assert load_settings(environ={"BLAS_THREADS": "2"}, dotenv_path=tmp_path / "none").blas_threads == 2
    with pytest.raises(ValueError, match="BLAS_THREADS"):
        load_settings(environ={"BLAS_THREADS": "0"}, dotenv_path=tmp_path / "none")
