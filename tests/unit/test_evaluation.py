"""The evaluation protocol: split, relevance, metrics, and the report."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services import holdout
from services.domain import Film
from services.evaluation import evaluate, prepare


def block_ratings(n_users: int = 80, seed: int = 0, scale: float = 10.0):
    """Even users watch and love even films, odd users odd films (ids as strings, too)."""
    rng = np.random.default_rng(seed)
    users, items, ratings = [], [], []
    for u in range(n_users):
        for film in range(30):
            if film % 2 == u % 2 and rng.random() < 0.6:
                users.append(f"user{u}"), items.append(film), ratings.append(scale * rng.choice([0.8, 0.9, 1.0]))
            elif film % 2 != u % 2 and rng.random() < 0.05:
                users.append(f"user{u}"), items.append(film), ratings.append(scale * 0.3)
    return np.array(users), np.array(items), np.array(ratings)


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    users, items, ratings = block_ratings()
    data = prepare(users, items, ratings)
    n_users, n_items = data.user_ids.size, data.item_ids.size
    first = holdout.holdout_split(data.users, data.items, data.ratings, n_users, n_items, data.scale, seed=7)
    shuffled = np.random.default_rng(1).permutation(data.users.size)
    again = holdout.holdout_split(data.users[shuffled], data.items[shuffled], data.ratings[shuffled],
                                  n_users, n_items, data.scale, seed=7)
    other = holdout.holdout_split(data.users, data.items, data.ratings, n_users, n_items, data.scale, seed=8)
    key = lambda s: set(zip(s.test_users.tolist(), s.test_items.tolist()))  # noqa: E731
    assert key(first) == key(again)
    assert key(first) != key(other)


def test_each_user_holds_out_a_fifth_and_at_least_one():
    users = np.repeat(np.arange(4), [5, 7, 10, 23])
    items = np.concatenate([np.arange(n) for n in (5, 7, 10, 23)])
    split = holdout.holdout_split(users, items, np.full(users.size, 9.0), 4, 23, 10.0, seed=0)
    assert np.bincount(split.test_users, minlength=4).tolist() == [1, 1, 2, 5]
    assert split.train_users.size + split.test_users.size == users.size


def test_users_with_fewer_than_five_ratings_are_dropped():
    data = prepare(np.array([1, 1, 1, 1, 2, 2, 2, 2, 2]), np.array([1, 2, 3, 4, 1, 2, 3, 4, 5]), np.ones(9))
    assert data.user_ids.tolist() == [2]
    assert data.item_ids.tolist() == [1, 2, 3, 4, 5]


def test_a_repeated_rating_counts_once_with_its_last_value():
    data = prepare(np.array([1] * 6), np.array([1, 2, 3, 4, 5, 5]), np.array([1, 2, 3, 4, 5, 9.0]))
    assert data.users.size == 5
    assert data.ratings[data.items == 4].tolist() == [9.0]


def test_relevant_means_rated_at_least_seven_tenths_of_the_largest_rating():
    users = np.zeros(10, dtype=int)
    ratings = np.array([1, 2, 3, 3.4, 3.5, 4, 5, 1, 1, 1.0])
    split = holdout.holdout_split(users, np.arange(10), ratings, 1, 10, scale=5.0, seed=0, fraction=1.0)
    assert sorted(split.relevant.indices.tolist()) == [4, 5, 6]


def test_recall_and_ndcg_use_binary_gains_and_min_of_k_and_relevant():
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 1]], dtype=np.float32))
    ranked = np.array([[2, 1, 0], [0, 1, 3]])
    recall, ndcg = holdout.recall_ndcg(ranked, relevant, k=3)
    assert np.allclose(recall, [1.0, 0.0])
    expected = (1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    assert np.allclose(ndcg, [expected, 0.0])
    recall, _ = holdout.recall_ndcg(ranked[:, :1], relevant, k=1)
    assert np.allclose(recall, [1.0, 0.0])  # one hit out of min(K=1, 2 relevant)


def test_evaluate_reports_every_model_and_repeats_exactly_with_the_same_seed():
    users, items, ratings = block_ratings()
    models = ["hybrid", "popularity", "item_knn", "ease", "als", "content"]
    report = evaluate(users, items, ratings, k=5, seed=3, models=models)
    assert report["k"] == 5 and report["users"] == 80 and report["items"] == 30
    assert 0 < report["eval_users"] <= 80
    assert set(report["models"]) == set(models)
    assert "skipped" in report["models"]["content"]
    for name in models[:-1]:
        row = report["models"][name]
        assert set(row) >= {"recall", "ndcg", "fit_s", "recommend_ms_p50", "recommend_ms_p95"}
        assert 0.0 <= row["ndcg"] <= 1.0
    assert report["models"]["hybrid"]["ndcg"] > report["models"]["popularity"]["ndcg"]
    again = evaluate(users, items, ratings, k=5, seed=3, models=["hybrid", "ease"])
    for name in ("hybrid", "ease"):
        assert again["models"][name]["ndcg"] == report["models"][name]["ndcg"]
        assert again["models"][name]["recall"] == report["models"][name]["recall"]


def test_rp3beta_and_bpr_are_tuned_on_the_inner_split_and_report_their_size(monkeypatch):
    import services.evaluation as evaluation

    # A short grid keeps the test quick; the search itself is the one evaluate runs.
    monkeypatch.setattr(evaluation, "BPR_SEARCH", (("fold_in_regularization", (1.0, 10.0)),))
    users, items, ratings = block_ratings()
    report = evaluate(users, items, ratings, k=5, seed=0, models=["popularity", "rp3beta", "bpr"])
    rows = report["models"]
    for name in ("rp3beta", "bpr"):
        assert rows[name]["ndcg"] > rows["popularity"]["ndcg"]
        assert rows[name]["params"]["trials"] >= 2
    assert rows["rp3beta"]["params"]["neighbours"] in (50, 200, 800)
    assert rows["rp3beta"]["model_bytes"] <= 30 * 30 * (4 + 4) + 31 * 8
    assert rows["bpr"]["model_bytes"] == 30 * (rows["bpr"]["params"]["factors"] + 1) * 4
    assert rows["popularity"]["model_bytes"] == 30 * 4


def test_content_is_evaluated_when_item_metadata_is_given():
    users, items, ratings = block_ratings()
    meta = [Film(film_id=f, title=f"Film {f}", year=2000 + f % 2, genres=("Drama",) if f % 2 == 0 else ("Comedy",))
            for f in range(30)]
    report = evaluate(users, items, ratings, k=5, seed=0, item_meta=meta, models=["content", "popularity"])
    assert report["models"]["content"]["ndcg"] > report["models"]["popularity"]["ndcg"]


def test_a_ratings_scale_is_taken_from_the_largest_rating_seen():
    users, items, ratings = block_ratings(scale=5.0)
    report = evaluate(users, items, ratings, k=5, seed=0, models=["popularity"])
    assert report["scale"] == 5.0 and report["eval_users"] > 0


def test_item_item_baselines_keep_the_most_watched_films_when_there_are_too_many(monkeypatch):
    import services.evaluation as evaluation

    monkeypatch.setattr(evaluation, "HEAD_ITEMS", 20)
    users, items, ratings = block_ratings()
    report = evaluate(users, items, ratings, k=5, seed=0, models=["ease", "item_knn", "popularity"])
    for name in ("ease", "item_knn"):
        assert report["models"][name]["params"]["items_modelled"] == 20
        assert report["models"][name]["ndcg"] > report["models"]["popularity"]["ndcg"]


def test_held_out_films_are_ranked_from_content_better_than_at_random():
    from services.evaluation import evaluate_cold_items

    users, items, ratings = block_ratings(n_users=120)
    # Even films share one director, odd films another: content that tells the blocks apart.
    meta = [Film(film_id=f, title=f"Film {f}", year=2000, genres=("Drama",),
                 directors=("Ann Even",) if f % 2 == 0 else ("Bo Odd",)) for f in range(30)]
    report = evaluate_cold_items(users, items, ratings, 0.3, k=5, seed=0, item_meta=meta)
    assert report["cold_items"] == 9 and report["eval_users"] > 50
    models = report["models"]
    assert set(models) == {"hybrid", "content", "genre_overlap", "random"}
    assert models["hybrid"]["ndcg"] > models["random"]["ndcg"] + 0.2
    assert models["hybrid"]["ndcg"] > models["genre_overlap"]["ndcg"]
