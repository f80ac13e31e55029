"""Mood picks with no account, ranking a list, taste match, group night and year in review, over real HTTP."""
from __future__ import annotations

import requests

from services.coldstart import MOODS
from tests.support.openapi_check import problems, response_schema
from tests.support.runs import assert_ended_cleanly, recommend


def conforms(body, path, method, status):
    assert problems(body, response_schema(path, method, status)) == []


def test_a_mood_alone_streams_mood_picks_with_no_member(live_app):
    outcome = recommend(live_app.url, mood="funny", count=8, country="GB")
    assert_ended_cleanly(outcome)
    assert outcome.status == 200
    body = outcome.body
    conforms(body, "/api/recommend", "post", 200)
    assert body["username"] == "" and body["data_freshness"] == "none" and body["cold_start"] is True
    assert body["profile"]["films"] == 0
    cards = body["recommendations"]
    assert len(cards) == 8
    funny = {g.lower() for g in MOODS["funny"].genres}
    assert all(funny & {g.lower().replace(" ", "_") for g in card["genres"]} for card in cards)
    assert all(card["reason"].startswith("A funny pick") for card in cards)


def test_a_mood_alone_honours_the_tonight_filters(live_app):
    r = requests.post(f"{live_app.url}/api/recommend", json={
        "mood": "thrilling", "count": 5, "sync": True, "include_streaming": False,
        "filters": {"decade_min": 1990, "decade_max": 1990}}, timeout=60)
    assert r.status_code == 200, r.text
    cards = r.json()["recommendations"]
    assert len(cards) == 5 and all(1990 <= c["year"] <= 1999 for c in cards)


def test_no_username_no_export_and_no_mood_is_a_400(live_app):
    r = requests.post(f"{live_app.url}/api/recommend", json={"country": "GB"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_username"


# ----- ranking a list ---------------------------------------------------------------------------

def catalog_titles(live_app, count: int) -> list[tuple[int, str, int]]:
    """(film id, title, year) of well-known catalog films with distinct titles."""
    catalog = live_app.facade.catalog()
    films = sorted((f for f in catalog.films if f.year and f.corpus_count >= 20 and f.media_type == "movie"),
                   key=lambda f: (-f.corpus_count, f.film_id))
    out, titles = [], set()
    for film in films:
        key = film.title.lower()
        if key not in titles:
            titles.add(key)
            out.append((film.film_id, film.title, film.year))
        if len(out) == count:
            break
    return out


def test_pasted_titles_come_back_ranked_for_the_member_over_sse(live_app, sample_export):
    known = catalog_titles(live_app, 12)
    pasted = "\n".join(f"{title} ({year})" for _, title, year in known) + "\nZzqx Not A Film (1902)\n"
    r = requests.post(f"{live_app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                      data={"from_list": pasted, "include_streaming": "false"}, timeout=30)
    assert r.status_code == 202, r.text
    from tests.support.runs import follow
    import time
    outcome = follow(live_app.url, r.json()["request_id"], time.monotonic())
    assert_ended_cleanly(outcome)
    body = outcome.body
    conforms(body, "/api/recommend", "post", 200)
    assert sorted(c["film_id"] for c in body["recommendations"]) == sorted(fid for fid, _, _ in known)
    assert [c["score"] for c in body["recommendations"]] == sorted((c["score"] for c in body["recommendations"]),
                                                                   reverse=True)
    assert all(c["reasons"] and c["list_position"] >= 1 for c in body["recommendations"])
    listed = body["list"]
    assert (listed["source"], listed["titles"], listed["matched"], listed["ranked"]) == ("titles", 13, 12, 12)
    assert [u["name"] for u in listed["unmatched"]] == ["Zzqx Not A Film"]


def test_a_list_export_csv_upload_is_ranked_and_count_keeps_the_top(live_app, sample_export):
    known = catalog_titles(live_app, 6)
    rows = "\n".join(f"{i},{title},{year},https://boxd.it/x{i}," for i, (_, title, year) in enumerate(known, 1))
    csv_text = ("Letterboxd list export v7\nDate,Name,Tags,URL,Description\n2025-01-01,Line-up,,https://boxd.it/l,\n\n"
                f"Position,Name,Year,URL,Description\n{rows}\n")
    r = requests.post(f"{live_app.url}/api/recommend",
                      files={"export": ("export.zip", sample_export), "list_file": ("line-up.csv", csv_text)},
                      data={"count": "3", "sync": "true", "include_streaming": "false"}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["list"]["name"] == "Line-up" and body["list"]["matched"] == 6
    assert len(body["recommendations"]) == 3
    assert {c["film_id"] for c in body["recommendations"]} <= {fid for fid, _, _ in known}


def test_the_members_own_watchlist_is_ranked(live_app, sample_export):
    r = requests.post(f"{live_app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                      data={"from_list": "watchlist", "sync": "true", "include_streaming": "false"}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["list"]["source"] == "watchlist" and body["list"]["titles"] == 8
    titles = {c["title"] for c in body["recommendations"]}
    assert len(titles) == body["list"]["matched"] >= 5 and "Stalker" in titles


def test_a_list_with_nothing_known_is_a_400_naming_the_titles(live_app, sample_export):
    r = requests.post(f"{live_app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                      data={"from_list": "Zzqx One (1901)\nZzqx Two", "sync": "true"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"] == "list_unmatched"
    assert "Zzqx One (1901)" in r.json()["message"] and "Zzqx Two" in r.json()["message"]


def test_a_letterboxd_list_url_is_scraped_once_then_cached(online_app, fake_upstreams):
    fake_upstreams.reset()
    url = "https://letterboxd.com/cinephile/list/favourites-2024/"
    before = fake_upstreams.letterboxd.list_requests
    first = requests.post(f"{online_app.url}/api/recommend", json={
        "username": "cinephile", "from_list": url, "sync": True, "include_streaming": False}, timeout=60)
    assert first.status_code == 200, first.text
    scraped = fake_upstreams.letterboxd.list_requests - before
    assert scraped >= 1
    body = first.json()
    assert body["list"]["source"] == "url" and body["list"]["matched"] == len(body["recommendations"]) > 0
    second = requests.post(f"{online_app.url}/api/recommend", json={
        "username": "cinephile", "from_list": url, "sync": True, "include_streaming": False}, timeout=60)
    assert second.status_code == 200
    assert fake_upstreams.letterboxd.list_requests - before == scraped
    # The same titles again (the catalog may have grown from TMDB in between, so only the titles are compared).
    assert second.json()["list"]["titles"] == body["list"]["titles"]


def test_a_list_of_an_unknown_member_is_a_404(online_app, fake_upstreams):
    fake_upstreams.reset()
    r = requests.post(f"{online_app.url}/api/recommend", json={
        "username": "cinephile", "from_list": "https://letterboxd.com/nobody_here/list/x/", "sync": True}, timeout=60)
    assert r.status_code == 404 and r.json()["error"] == "unknown_list"


# ----- taste match and group night --------------------------------------------------------------

def export_with_name(sample_export: bytes, name: str, drop: int = 0) -> bytes:
    """The sample export under another profile name, optionally without its first `drop` ratings."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(sample_export))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "profile.csv":
                lines = data.decode("utf-8-sig").splitlines()
                header = lines[0].split(",")
                row = lines[1].split(",")
                row[header.index("Username")] = name
                data = (lines[0] + "\n" + ",".join(row) + "\n").encode()
            elif info.filename == "ratings.csv" and drop:
                lines = data.decode("utf-8-sig").splitlines()
                data = ("\n".join(lines[:1] + lines[1 + drop:]) + "\n").encode()
            target.writestr(info, data)
    return out.getvalue()


def test_a_member_compared_with_their_own_export_twice_is_refused_as_the_same_member(live_app, sample_export):
    r = requests.post(f"{live_app.url}/api/compare", files={"export_1": ("a.zip", sample_export),
                                                            "export_2": ("b.zip", sample_export)},
                      data={"sync": "true"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"] == "duplicate_member"


def test_compare_of_a_member_with_themself_is_100_percent_over_sse(live_app, sample_export):
    import time

    from tests.support.runs import follow
    twin = export_with_name(sample_export, "twin")
    r = requests.post(f"{live_app.url}/api/compare", files={"export_1": ("a.zip", sample_export),
                                                            "export_2": ("b.zip", twin)},
                      data={"include_streaming": "false"}, timeout=60)
    assert r.status_code == 202, r.text
    conforms(r.json(), "/api/compare", "post", 202)
    outcome = follow(live_app.url, r.json()["request_id"], time.monotonic())
    assert_ended_cleanly(outcome)
    body = outcome.body
    conforms(body, "/api/compare", "post", 200)
    assert body["percent"] == 100 and body["method"]["agreement"] == 1.0
    assert body["disagree"] == [] and len(body["agree"]) == 5
    assert [m["name"] for m in body["members"]] == ["samplecinephile", "twin"]
    assert len(body["recommendations"]) == 5 and all(len(c["members"]) == 2 for c in body["recommendations"])
    assert body["shared_genres"]


def test_compare_of_two_members_with_fewer_shared_films_is_below_100(live_app, sample_export):
    r = requests.post(f"{live_app.url}/api/compare", files={
        "export_1": ("a.zip", sample_export), "export_2": ("b.zip", export_with_name(sample_export, "other", 20))},
        data={"sync": "true", "include_streaming": "false"}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["method"]["shared_rated"] > 0 and body["percent"] <= 100


def test_group_night_streams_films_none_has_seen_with_a_meter_per_member(live_app, sample_export):
    import time

    from tests.support.runs import follow
    files = {"export_1": ("a.zip", sample_export), "export_2": ("b.zip", export_with_name(sample_export, "bo", 30)),
             "export_3": ("c.zip", export_with_name(sample_export, "cy", 10))}
    r = requests.post(f"{live_app.url}/api/group", files=files, data={"count": "8", "include_streaming": "false"},
                      timeout=60)
    assert r.status_code == 202, r.text
    outcome = follow(live_app.url, r.json()["request_id"], time.monotonic())
    assert_ended_cleanly(outcome)
    body = outcome.body
    conforms(body, "/api/group", "post", 200)
    assert [m["name"] for m in body["members"]] == ["samplecinephile", "bo", "cy"]
    cards = body["recommendations"]
    assert len(cards) == 8
    seen = export_film_ids(live_app.facade, sample_export)
    assert not seen & {c["film_id"] for c in cards}
    for c in cards:
        assert [m["name"] for m in c["members"]] == ["samplecinephile", "bo", "cy"]
        assert all(1 <= m["match"] <= 99 for m in c["members"])
    assert "average" in body["method"]
    status = [e.data.get("message", "") for e in outcome.streams["status"]]
    assert any("Reading bo's films (2 of 3)" in m for m in status)


def export_film_ids(facade, data: bytes) -> set[int]:
    from infra.export_reader import read_upload
    from services.export_import import profile_from_export

    from services.matching import match_profile
    profile = profile_from_export(read_upload(data, "export.zip", 10**8))
    return {m.film.film_id for m in match_profile(profile, facade.catalogs.index()) if m.film and m.entry.watched}


def test_group_members_as_a_json_list_and_unknown_members_named(online_app, fake_upstreams):
    fake_upstreams.reset()
    r = requests.post(f"{online_app.url}/api/group", json={
        "members": ["cinephile", "nobody_here"], "sync": True, "include_streaming": False}, timeout=60)
    assert r.status_code == 404 and r.json()["error"] == "unknown_user" and "nobody_here" in r.json()["message"]


def test_group_bad_sizes_are_400s(live_app):
    one = requests.post(f"{live_app.url}/api/group", json={"members": ["alice"]}, timeout=10)
    nine = requests.post(f"{live_app.url}/api/group", json={"members": [f"m{i}" for i in range(9)]}, timeout=10)
    twice = requests.post(f"{live_app.url}/api/group", data={"members": ["alice", "ALICE"]}, timeout=10)
    assert (one.status_code, one.json()["error"]) == (400, "too_few_members")
    assert (nine.status_code, nine.json()["error"]) == (400, "too_many_members")
    assert (twice.status_code, twice.json()["error"]) == (400, "duplicate_member")


# ----- year in review -------------------------------------------------------------------------------

def test_year_in_review_streams_then_is_gettable_with_its_image(live_app, sample_export):
    import time

    from tests.support.runs import follow
    r = requests.post(f"{live_app.url}/api/year-review", files={"export": ("export.zip", sample_export)},
                      data={"year": "2024"}, timeout=60)
    assert r.status_code == 202, r.text
    outcome = follow(live_app.url, r.json()["request_id"], time.monotonic())
    terminals = outcome.terminals
    assert terminals["status"] == {"status": "complete"} and outcome.status == 200
    body = outcome.body
    conforms(body, "/api/year-review", "post", 200)
    assert body["year"] == 2024 and body["logs"] == sum(m["films"] for m in body["months"]) > 0
    assert body["first_watches"] + body["rewatches"] == body["logs"]
    again = requests.get(f"{live_app.url}/api/year-review", params={"request_id": body["request_id"]}, timeout=10)
    assert again.status_code == 200 and again.json() == body
    image = requests.get(f"{live_app.url}/api/year-review/image", params={"request_id": body["request_id"]},
                         timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"].startswith("image/svg+xml")
    assert "attachment" in image.headers["Content-Disposition"] and "2024 in film" in image.text


def test_year_in_review_of_a_year_without_entries_is_a_400(live_app, sample_export):
    r = requests.post(f"{live_app.url}/api/year-review", files={"export": ("export.zip", sample_export)},
                      data={"year": "1990", "sync": "true"}, timeout=60)
    assert r.status_code == 400 and r.json()["error"] == "no_diary_for_year"
    assert "1990" in r.json()["message"]


def test_a_recommendation_is_not_served_as_a_year_in_review(live_app):
    outcome = recommend(live_app.url, mood="cozy", count=3)
    r = requests.get(f"{live_app.url}/api/year-review", params={"request_id": outcome.request_id}, timeout=10)
    assert r.status_code == 404


# ----- against the fake upstreams (live scraping, TMDB, streaming) ----------------------------------------

def test_every_addition_works_against_the_fake_upstreams(online_app, fake_upstreams):
    fake_upstreams.reset()
    base = online_app.url
    mood = requests.post(f"{base}/api/recommend", json={"mood": "epic", "count": 4, "sync": True,
                                                       "country": "US"}, timeout=60)
    assert mood.status_code == 200 and len(mood.json()["recommendations"]) == 4
    group = requests.post(f"{base}/api/group", data={"members": ["cinephile", "member001", "member002"],
                                                     "count": "5", "sync": "true", "country": "US"}, timeout=120)
    assert group.status_code == 200, group.text
    body = group.json()
    conforms(body, "/api/group", "post", 200)
    assert [m["source"] for m in body["members"]] == ["live", "live", "live"]
    assert len(body["recommendations"]) == 5 and all(len(c["members"]) == 3 for c in body["recommendations"])
    compare = requests.post(f"{base}/api/compare", json={"members": ["cinephile", "member003"], "sync": True,
                                                         "include_streaming": False}, timeout=120)
    assert compare.status_code == 200, compare.text
    assert 0 <= compare.json()["percent"] <= 100 and compare.json()["method"]["explanation"]
    review = requests.post(f"{base}/api/year-review", json={"username": "cinephile", "sync": True}, timeout=120)
    assert review.status_code == 200, review.text
    assert review.json()["year"] == 2025 and review.json()["logs"] >= 1
