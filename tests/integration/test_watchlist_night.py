"""Watchlist night and films not out yet, through the API against the fake upstreams, on a day set by TODAY."""
from __future__ import annotations

import io
import time
import zipfile

import pytest
import requests

from tests.fakes import build_world
from tests.fakes.world import FakeFilm, FakeMember, Logged, World
from tests.integration.test_together import export_with_name
from tests.support.openapi_check import problems, response_schema
from tests.support.runs import assert_ended_cleanly, follow
from tests.support.var import copy_var

TODAY = "2026-12-06"
FUTURE = ("The Long Tomorrow", 2027)  # on watchlists, out next June
FUTURE_RELEASE = "2027-06-15"  # as the fake TMDB dates it


def member(name: str, watched: list[int], watchlist: list[int]) -> FakeMember:
    """A member who rated `watched` (the first five are their RSS diary) and wants to see `watchlist`."""
    one = FakeMember(name, name.title())
    one.films = [Logged(key, 4.0, watched_date=f"2025-10-{day:02d}") for day, key in enumerate(watched, 1)]
    one.watchlist = list(watchlist)
    one.diary = one.films[:5]
    return one


@pytest.fixture(scope="module")
def world() -> World:
    """The fakes' world with a film of next year and members whose watchlists overlap."""
    base = build_world(popular_members=5)
    n = len(base.films)
    future = FakeFilm(n, FUTURE[0], FUTURE[1], "the-long-tomorrow", 10000 + 37 * n, 990_003, "tt9900003",
                      ("Ines Vale",), ("Drama", "Science Fiction"), 118, "fr", ("FR",))
    real = list(range(41))
    members = dict(base.members)
    members["wl_ann"] = member("wl_ann", real[:10], [real[20], real[21], real[22], future.key])
    members["wl_bo"] = member("wl_bo", real[10:20] + [real[21]], [real[20], real[22], real[23]])
    members["wl_cy"] = member("wl_cy", real[24:30], [real[20], real[30]])
    members["wl_dee"] = member("wl_dee", real[30:36], [])
    members["wl_eve"] = member("wl_eve", real[36:41], [])
    members["wl_fay"] = member("wl_fay", real[:6], [real[20]])  # read once, with their watchlists blocked
    members["wl_gus"] = member("wl_gus", real[6:12], [real[22]])
    return World([*base.films, future], members, base.popular)


@pytest.fixture(scope="module")
def night_app(start_app, fakes, shared_var, tmp_path_factory):
    """The app on the module's fakes (TMDB finds films the catalog lacks), on a day where 2027 is to come."""
    var = copy_var(shared_var, tmp_path_factory.mktemp("watchlist-night-var"))
    return start_app({"ratelimit_enabled": False, "var_dir": var, "today": TODAY, **fakes.settings_overrides()})


def conforms(body: dict, path: str, method: str, status: int) -> None:
    assert problems(body, response_schema(path, method, status)) == []


def group(app, timeout: float = 120, **fields) -> requests.Response:
    return requests.post(f"{app.url}/api/group", json={"from_list": "watchlists", "sync": True,
                                                      "include_streaming": False, **fields}, timeout=timeout)


def titles_of(world: World, keys) -> set[str]:
    return {world.films[key].title for key in keys}


def test_usernames_watchlists_are_ranked_for_the_group_and_nothing_anyone_watched_or_not_out_yet(
        night_app, world, calm_fakes):
    r = group(night_app, members=["wl_ann", "wl_bo"])
    assert r.status_code == 200, r.text
    body = r.json()
    conforms(body, "/api/group", "post", 200)
    assert body["from_list"] == "watchlists" and body["notes"] == []
    assert [(m["name"], m["watchlist"]) for m in body["members"]] == [("wl_ann", 4), ("wl_bo", 3)]
    cards = body["recommendations"]
    shown = {c["title"] for c in cards}
    ann, bo = world.members["wl_ann"], world.members["wl_bo"]
    assert shown == titles_of(world, [ann.watchlist[0], ann.watchlist[2], bo.watchlist[2]])
    assert world.films[ann.watchlist[1]].title not in shown, "on Ann's watchlist, but Bo has seen it"
    both = titles_of(world, [ann.watchlist[0], ann.watchlist[2]])
    for card in cards:
        assert card["on_watchlists"] == (["wl_ann", "wl_bo"] if card["title"] in both else ["wl_bo"])
        assert [m["name"] for m in card["members"]] == ["wl_ann", "wl_bo"] and card["not_out_yet"] is False
    assert [c["score"] for c in cards] == sorted((c["score"] for c in cards), reverse=True)
    lists = body["watchlists"]
    assert (lists["films"], lists["seen"], lists["ranked"]) == (5, 1, 3)
    assert [(f["title"], f["year"], f["release_date"], f["on_watchlists"], f["not_out_yet"])
            for f in lists["not_out_yet"]] == [(*FUTURE, FUTURE_RELEASE, ["wl_ann"], True)]


def test_a_member_whose_watchlist_letterboxd_blocks_is_named_and_the_night_goes_on(night_app, fakes, calm_fakes):
    fakes.letterboxd.control.set(block="all", fail_paths=("/wl_cy/watchlist/",))
    r = group(night_app, members=["wl_ann", "wl_cy"])
    assert r.status_code == 200, r.text
    body = r.json()
    conforms(body, "/api/group", "post", 200)
    (note,) = body["notes"]
    assert "would not serve wl_cy's watchlist" in note
    assert [(m["name"], m["watchlist"], m["data_freshness"]) for m in body["members"]] == [
        ("wl_ann", 4, "fresh"), ("wl_cy", None, "rss")]
    assert body["recommendations"] and all(c["on_watchlists"] == ["wl_ann"] for c in body["recommendations"])


def test_when_no_watchlist_can_be_read_or_holds_a_film_the_400_says_so(night_app, fakes, calm_fakes):
    empty = group(night_app, members=["wl_dee", "wl_eve"])
    assert empty.status_code == 400 and empty.json()["error"] == "no_watchlist_films"
    assert empty.json()["message"].startswith("Nothing is on any of your watchlists")
    fakes.letterboxd.control.set(block="all", fail_paths=("/wl_fay/watchlist/", "/wl_gus/watchlist/"))
    blocked = group(night_app, members=["wl_fay", "wl_gus"])
    assert blocked.status_code == 400 and blocked.json()["error"] == "no_watchlist_films"
    assert "would not serve the watchlists of wl_fay and wl_gus" in blocked.json()["message"]
    meta = requests.get(f"{night_app.url}/api/meta", timeout=10).json()
    assert "no_watchlist_films" in meta["errors"]["nothing_to_rank"]


# ----- members given by export ---------------------------------------------------------------------

def export_with(sample: bytes, name: str, watchlist: list[tuple[str, int]],
                watched: list[tuple[str, int]] = ()) -> bytes:
    """The sample export under another name, with this watchlist.csv (none when empty) and more watched films."""
    source = zipfile.ZipFile(io.BytesIO(export_with_name(sample, name)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "watchlist.csv":
                if not watchlist:
                    continue
                rows = [f'2026-01-0{i % 9 + 1},"{title}",{year},https://boxd.it/w{i}'
                        for i, (title, year) in enumerate(watchlist)]
                data = ("Date,Name,Year,Letterboxd URI\n" + "\n".join(rows) + "\n").encode()
            elif info.filename == "watched.csv" and watched:
                rows = [f'2025-05-0{i % 9 + 1},"{title}",{year},https://boxd.it/s{i}' for i, (title, year) in
                        enumerate(watched)]
                data = data.decode("utf-8-sig").rstrip("\n").encode() + ("\n" + "\n".join(rows) + "\n").encode()
            target.writestr(info, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def picks_for_sample(night_app, sample_export) -> list[tuple[str, int]]:
    """The sample member's own twelve picks, best first: films the model knows they should like, and less so."""
    r = requests.post(f"{night_app.url}/api/recommend", files={"export": ("export.zip", sample_export)},
                      data={"count": "12", "sync": "true", "include_streaming": "false"}, timeout=120)
    assert r.status_code == 200, r.text
    return [(c["title"], c["year"]) for c in r.json()["recommendations"]]


def test_exports_watchlists_put_the_film_on_all_three_that_all_should_like_first(night_app, sample_export,
                                                                                 picks_for_sample, calm_fakes):
    best, seen_by_cy, *rest = picks_for_sample
    lesser = rest[-2:]
    files = {  # three members of the sample's taste; the best film is on every watchlist
        "export_1": ("a.zip", export_with(sample_export, "ann", [lesser[0], best, seen_by_cy])),
        "export_2": ("b.zip", export_with(sample_export, "bo", [best, lesser[1], FUTURE])),
        "export_3": ("c.zip", export_with(sample_export, "cy", [best], watched=[seen_by_cy])),
    }
    r = requests.post(f"{night_app.url}/api/group", files=files, timeout=60,
                      data={"from_list": "watchlists", "include_streaming": "false"})
    assert r.status_code == 202, r.text
    outcome = follow(night_app.url, r.json()["request_id"], time.monotonic(), limit_s=120)
    assert_ended_cleanly(outcome)
    body = outcome.body
    conforms(body, "/api/group", "post", 200)
    cards = body["recommendations"]
    assert (cards[0]["title"], cards[0]["year"]) == best
    assert cards[0]["on_watchlists"] == ["ann", "bo", "cy"]
    assert {(c["title"], c["year"]) for c in cards} == {best, *lesser}
    assert [c["on_watchlists"] for c in cards[1:]] in ([["ann"], ["bo"]], [["bo"], ["ann"]])
    assert [f["title"] for f in body["watchlists"]["not_out_yet"]] == [FUTURE[0]]
    assert body["watchlists"]["seen"] == 1 and [m["watchlist"] for m in body["members"]] == [3, 3, 1]


def test_nothing_on_any_exports_watchlist_is_a_400_that_says_so(night_app, sample_export):
    files = {"export_1": ("a.zip", export_with(sample_export, "ann", [])),
             "export_2": ("b.zip", export_with(sample_export, "bo", []))}
    r = requests.post(f"{night_app.url}/api/group", files=files, timeout=60,
                      data={"from_list": "watchlists", "sync": "true"})
    assert r.status_code == 400 and r.json()["error"] == "no_watchlist_films"
    assert "Nothing is on any of your watchlists" in r.json()["message"]


def test_a_watchlist_holding_a_film_not_out_yet_ranks_it_last_flagged(night_app, sample_export, picks_for_sample):
    watchlist = [FUTURE, *picks_for_sample[:2]]
    r = requests.post(f"{night_app.url}/api/recommend",
                      files={"export": ("export.zip", export_with(sample_export, "samplecinephile", watchlist))},
                      data={"from_list": "watchlist", "sync": "true", "include_streaming": "false"}, timeout=120)
    assert r.status_code == 200, r.text
    body = r.json()
    conforms(body, "/api/recommend", "post", 200)
    cards = body["recommendations"]
    assert [(c["title"], c["not_out_yet"]) for c in cards][-1] == (FUTURE[0], True)
    assert cards[-1]["release_date"] == FUTURE_RELEASE and not any(c["not_out_yet"] for c in cards[:-1])
    assert body["list"]["not_out_yet"] == 1 and body["list"]["matched"] == 3


def test_a_shared_watchlist_night_names_no_member(night_app, calm_fakes):
    night = group(night_app, members=["wl_ann", "wl_bo"]).json()
    shared = requests.post(f"{night_app.url}/api/share", json={"request_id": night["request_id"]}, timeout=10)
    assert shared.status_code == 200, shared.text
    kept = requests.get(f"{night_app.url}/api/shared/{shared.json()['share_id']}", timeout=10)
    assert kept.status_code == 200 and kept.json()["recommendations"]
    assert "wl_ann" not in kept.text and "wl_bo" not in kept.text
