from __future__ import annotations

import pytest

from config import load_settings


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


def test_export_limits_have_their_documented_defaults_and_a_bad_date_names_its_setting(tmp_path):
    s = load_settings(environ={}, dotenv_path=tmp_path / "none")
    assert (s.export_max_rows_per_file, s.export_max_rows, s.export_max_films) == (30_000, 100_000, 20_000)
    assert s.export_max_title_chars == 300 and s.export_max_uncompressed_mb == 64
    assert s.export_earliest_date == "1900-01-01"
    with pytest.raises(ValueError, match="EXPORT_EARLIEST_DATE"):
        load_settings(environ={"EXPORT_EARLIEST_DATE": "1900"}, dotenv_path=tmp_path / "none")
