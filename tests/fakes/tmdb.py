"""A fake TMDB v3 API under /3: details with append_to_response, search, find, lists and watch providers."""
from __future__ import annotations

import re
from typing import Any, Mapping

from tests.fakes.server import Answer, FakeServer, json_answer
from tests.fakes.world import COUNTRY_NAMES, GENRE_IDS, FakeFilm, World, build_world, fold_title

API_KEY = "fake-v3-key-0123456789abcdef"
BEARER = ("eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJmYWtlLXRtZGItYXVkaWVuY2UiLCJzY29wZXMiOlsiYXBpX3JlYWQiXX0."
          "ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz")
APPENDABLE = ("credits", "keywords", "external_ids", "recommendations", "similar", "watch/providers")
COUNTRIES = ("US", "GB", "CA", "AU", "DE", "AT", "FR", "ES", "IT", "NL", "BR", "MX", "IN")

MOVIE_RE = re.compile(r"^/3/movie/(?P<id>\d+)(?P<sub>/credits|/keywords|/external_ids|/recommendations|/similar"
                      r"|/watch/providers)?$")
FIND_RE = re.compile(r"^/3/find/(?P<id>tt\d+)$")


class FakeTmdb(FakeServer):
    """Answer TMDB v3 requests for the world's films; accepts API_KEY as api_key or BEARER as a bearer token."""

    name = "tmdb"

    def __init__(self, world: World | None = None, *, port: int = 0) -> None:
        super().__init__(port)
        self.world = world or build_world()

    # -- shapes ------------------------------------------------------------------------------------

    def list_item(self, f: FakeFilm) -> dict:
        return {
            "adult": False, "backdrop_path": f"/backdrop{f.tmdb_id}.jpg", "genre_ids": [GENRE_IDS[g] for g in f.genres],
            "id": f.tmdb_id, "original_language": f.language, "original_title": f.original_title or f.title,
            "overview": f"An overview of {f.title}.", "popularity": round(100 - f.key % 90 + 0.5, 3),
            "poster_path": f"/poster{f.tmdb_id}.jpg", "release_date": f"{f.release_year}-06-15", "title": f.title,
            "video": False, "vote_average": round(6 + (f.key % 35) / 10, 3), "vote_count": 500 + f.key * 13,
        }

    def page(self, results: list[dict], total_pages: int = 1) -> dict:
        return {"page": 1, "results": results, "total_pages": total_pages, "total_results": len(results)}

    def credits(self, f: FakeFilm) -> dict:
        cast = [{"adult": False, "gender": 1, "id": 5000 + i, "known_for_department": "Acting", "name": name,
                 "original_name": name, "popularity": 10.0, "profile_path": None, "cast_id": i,
                 "character": f"Role {i}", "credit_id": f"c{f.key}-{i}", "order": i}
                for i, name in enumerate(self.world.cast(f))]
        crew = []
        for i, d in enumerate(f.directors):
            crew.append({"adult": False, "gender": 2, "id": 7000 + i, "known_for_department": "Directing", "name": d,
                         "original_name": d, "popularity": 5.0, "profile_path": None, "credit_id": f"d{f.key}-{i}",
                         "department": "Directing", "job": "Director"})
        crew.append({"adult": False, "gender": 2, "id": 7999, "known_for_department": "Camera", "name": "Dee Pee",
                     "original_name": "Dee Pee", "popularity": 1.0, "profile_path": None, "credit_id": f"p{f.key}",
                     "department": "Camera", "job": "Director of Photography"})
        return {"cast": cast, "crew": crew}

    def keywords(self, f: FakeFilm) -> dict:
        return {"keywords": [{"id": 100 + i, "name": f"{g.lower()} film"} for i, g in enumerate(f.genres)]}

    def external_ids(self, f: FakeFilm) -> dict:
        return {"imdb_id": f.imdb_id, "wikidata_id": None, "facebook_id": None, "instagram_id": None,
                "twitter_id": None}

    def watch_providers(self, f: FakeFilm) -> dict:
        results = {}
        for c in COUNTRIES:
            block = self.world.providers(f, c)
            if block:
                results[c] = block
        return {"results": results}

    def details(self, f: FakeFilm, append: list[str]) -> dict:
        d: dict[str, Any] = {
            "adult": False, "backdrop_path": f"/backdrop{f.tmdb_id}.jpg", "belongs_to_collection": None, "budget": 0,
            "genres": [{"id": GENRE_IDS[g], "name": g} for g in f.genres], "homepage": "", "id": f.tmdb_id,
            "imdb_id": f.imdb_id, "original_language": f.language, "origin_country": list(f.countries[:1]),
            "original_title": f.original_title or f.title, "overview": f"An overview of {f.title}.",
            "popularity": round(100 - f.key % 90 + 0.5, 3), "poster_path": f"/poster{f.tmdb_id}.jpg",
            "production_companies": [],
            "production_countries": [{"iso_3166_1": c, "name": COUNTRY_NAMES.get(c, c)} for c in f.countries],
            "release_date": f"{f.release_year}-06-15", "revenue": 0, "runtime": f.runtime,
            "spoken_languages": [{"english_name": f.language, "iso_639_1": f.language, "name": f.language}],
            "status": "Released", "tagline": "", "title": f.title, "video": False,
            "vote_average": round(6 + (f.key % 35) / 10, 3), "vote_count": 500 + f.key * 13,
        }
        for part in append:
            if part == "credits":
                d["credits"] = self.credits(f)
            elif part == "keywords":
                d["keywords"] = self.keywords(f)
            elif part == "external_ids":
                d["external_ids"] = self.external_ids(f)
            elif part in ("recommendations", "similar"):
                d[part] = self.page([self.list_item(r) for r in self.world.related(f, part)], 2)
            elif part == "watch/providers":
                d["watch/providers"] = self.watch_providers(f)
        return d

    # -- routing -----------------------------------------------------------------------------------

    def _authorised(self, query: Mapping[str, list[str]], headers: Mapping[str, str]) -> bool:
        if query.get("api_key", [""])[0] == API_KEY:
            return True
        return headers.get("authorization", "") == f"Bearer {BEARER}"

    def handle(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: bytes) -> Answer:
        if not self._authorised(query, headers):
            return json_answer({"status_code": 7, "status_message": "Invalid API key: You must be granted a valid key.",
                                "success": False}, 401)
        if self.control.invalid_json:
            return Answer(200, '{"id": 1, "title": "trunc', "application/json;charset=utf-8")
        q = {k: v[0] for k, v in query.items()}
        if m := MOVIE_RE.match(path):
            f = self.world.tmdb_film(int(m.group("id")))
            if f is None:
                return json_answer({"status_code": 34, "status_message": "The resource you requested could not be found.",
                                    "success": False}, 404)
            sub = (m.group("sub") or "").lstrip("/")
            if not sub:
                append = [p for p in q.get("append_to_response", "").split(",") if p in APPENDABLE]
                return json_answer(self.details(f, append))
            if sub in ("recommendations", "similar"):
                return json_answer(self.page([self.list_item(r) for r in self.world.related(f, sub)], 2))
            data = {"credits": self.credits, "keywords": self.keywords, "external_ids": self.external_ids,
                    "watch/providers": self.watch_providers}[sub](f)
            return json_answer({"id": f.tmdb_id, **data})
        if path == "/3/search/movie":
            wanted = fold_title(q.get("query", ""))
            year = int(q["year"]) if q.get("year", "").isdigit() else None
            hits = [f for f in self.world.titled_like(wanted) if f.tmdb_id and (year is None or f.release_year == year)]
            if not hits and wanted:
                hits = [f for f in self.world.catalog_titled(wanted) if year is None or f.release_year == year]
            return json_answer(self.page([self.list_item(f) for f in hits[:20]]))
        if m := FIND_RE.match(path):
            f = self.world.by_imdb.get(m.group("id"))
            movies = [self.list_item(f) | {"media_type": "movie"}] if f and f.tmdb_id else []
            return json_answer({"movie_results": movies, "person_results": [], "tv_results": [],
                                "tv_episode_results": [], "tv_season_results": []})
        if path == "/3/genre/movie/list":
            return json_answer({"genres": [{"id": i, "name": n} for n, i in GENRE_IDS.items()]})
        return json_answer({"status_code": 34, "status_message": "The resource you requested could not be found.",
                            "success": False}, 404)
