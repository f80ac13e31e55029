"""Members' contributions: stored, counted, read by the trainer, deleted by token, in SQLite and Redis."""
from __future__ import annotations

import numpy as np
import pytest
import redis

from infra.contributions import (
    KEY_PREFIX,
    CorpusWithContributions,
    RedisContributions,
    SqliteContributions,
    token_digest,
)
from services.domain import Film

ROWS = [(1, 4.5, True), (2, None, True), (3, 2.0, False), (3, 2.5, False), (99, 5.0, False)]


class TinyStore:
    """The corpus side of a store: two users' ratings, one unrated liked film, three films."""

    def corpus(self):
        return (np.array([0, 0, 1], dtype=np.int32), np.array([1, 2, 2], dtype=np.int32),
                np.array([8.0, 6.0, 4.0], dtype=np.float32))

    def corpus_implicit(self):
        return np.array([1], dtype=np.int32), np.array([3], dtype=np.int32), np.array([True])

    def films(self):
        return [Film(film_id=i, title=f"Film {i}") for i in (1, 2, 3)]


@pytest.fixture(params=["sqlite", "redis"])
def contributions(request, tmp_path, redis_url):
    if request.param == "sqlite":
        yield SqliteContributions(tmp_path / "contributions.sqlite3")
        return
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(KEY_PREFIX + "*"):
        client.delete(key)
    yield RedisContributions(client)
    for key in client.scan_iter(KEY_PREFIX + "*"):
        client.delete(key)


def test_contribution_is_counted_read_and_deleted_by_its_token(contributions):
    token = contributions.add(ROWS)
    other = contributions.add([(2, 3.0, False)])

    assert contributions.counts() == {"members": 2, "ratings": 4}
    stored = sorted(contributions.all(), key=len)
    assert stored[0] == [(2, 3.0, False)]
    # one row per film, the last one given wins
    assert stored[1] == [(1, 4.5, True), (2, None, True), (3, 2.5, False), (99, 5.0, False)]

    assert contributions.delete(token) is True
    assert contributions.delete(token) is False
    assert list(contributions.all()) == [[(2, 3.0, False)]]
    assert contributions.counts() == {"members": 1, "ratings": 1}
    assert contributions.delete(other) is True
    assert contributions.counts() == {"members": 0, "ratings": 0}


def test_stars_outside_the_letterboxd_scale_are_kept_as_unrated(contributions):
    contributions.add([(1, 7.0, True)])
    assert list(contributions.all()) == [[(1, None, True)]]


def test_only_a_digest_of_the_token_is_stored(redis_url):
    client = redis.Redis.from_url(redis_url)
    token = RedisContributions(client).add([(1, 4.0, False)])
    keys = {key.decode() for key in client.scan_iter(KEY_PREFIX + "*")}
    assert KEY_PREFIX + "token:" + token_digest(token) in keys
    assert not any(token in key for key in keys)
    for key in client.scan_iter(KEY_PREFIX + "*"):
        client.delete(key)


def test_trainer_sees_contributors_as_new_users_until_they_delete(contributions):
    store = TinyStore()
    token = contributions.add(ROWS)

    users, films, ratings = CorpusWithContributions(store, contributions).corpus()
    assert users.tolist() == [0, 0, 1, 2, 2]
    assert films.tolist() == [1, 2, 2, 1, 3]  # film 99 is not in the catalog
    assert ratings.tolist() == [8.0, 6.0, 4.0, 9.0, 5.0]
    users, films, liked = CorpusWithContributions(store, contributions).corpus_implicit()
    assert users.tolist() == [1, 2] and films.tolist() == [3, 2] and liked.tolist() == [True, True]

    contributions.delete(token)
    users, films, ratings = CorpusWithContributions(store, contributions).corpus()
    assert users.tolist() == [0, 0, 1]
    assert CorpusWithContributions(store, contributions).films() == store.films()


def contribute(app_url: str, sample_export: bytes, contribute: str = "true") -> dict:
    import requests

    answer = requests.post(f"{app_url}/api/recommend", files={"export": ("export.zip", sample_export)},
                           data={"sync": "true", "contribute": contribute, "include_streaming": "false"},
                           timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.json()


def corpus_contributions(app_url: str) -> dict:
    import requests

    return requests.get(f"{app_url}/_health", timeout=30).json()["corpus"]["contributions"]


def test_an_upload_contributes_only_when_asked_and_the_token_deletes_it(live_app, sample_export):
    import requests

    before = corpus_contributions(live_app.url)
    assert contribute(live_app.url, sample_export, "false")["contribution"] is None
    assert corpus_contributions(live_app.url) == before

    contribution = contribute(live_app.url, sample_export)["contribution"]
    assert contribution["stored"] is True and contribution["films"] > 50 and contribution["ratings"] > 0
    after = corpus_contributions(live_app.url)
    assert after == {"members": before["members"] + 1, "ratings": before["ratings"] + contribution["ratings"]}

    url = f"{live_app.url}{contribution['delete_url']}"
    assert requests.delete(url, timeout=30).json() == {"deleted": True}
    assert corpus_contributions(live_app.url) == before
    gone = requests.delete(url, timeout=30)
    assert gone.status_code == 404 and gone.json()["error"] == "unknown_contribution"
    bad = requests.delete(f"{live_app.url}/api/contributions/short", timeout=30)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_token"


def test_a_contribution_through_one_instance_is_deleted_through_another_and_training_forgets_it(
        live_app_redis, start_app, redis_url, sample_export, shared_var):
    import requests

    from infra.store import Store

    other = start_app({"ratelimit_enabled": False, "redis_url": redis_url})
    client = redis.Redis.from_url(redis_url)
    before = RedisContributions(client).counts()

    contribution = contribute(live_app_redis.url, sample_export)["contribution"]
    assert corpus_contributions(other.url)["members"] == before["members"] + 1
    store = Store.open(shared_var / "store.sqlite", live_app_redis.facade.settings.data_dir)
    trained_on = CorpusWithContributions(store, RedisContributions(client))
    users, _, ratings = trained_on.corpus()
    assert ratings.size == store.corpus()[2].size + before["ratings"] + contribution["ratings"]

    assert requests.delete(f"{other.url}{contribution['delete_url']}", timeout=30).status_code == 200
    assert corpus_contributions(live_app_redis.url) == before
    users, _, ratings = CorpusWithContributions(store, RedisContributions(client)).corpus()
    assert ratings.size == store.corpus()[2].size + before["ratings"]
    store.close()
