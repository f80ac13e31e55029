"""A fake JustWatch GraphQL endpoint answering GetSearchTitles in the shape simplejustwatchapi parses."""
from __future__ import annotations

import json
from typing import Mapping

from tests.fakes.server import Answer, FakeServer, json_answer
from tests.fakes.world import FakeFilm, World, build_world, fold_title


class FakeJustWatch(FakeServer):
    """POST /graphql: title search with offers for the requested country."""

    name = "justwatch"

    def __init__(self, world: World | None = None, *, port: int = 0) -> None:
        super().__init__(port)
        self.world = world or build_world()

    def node(self, f: FakeFilm, country: str) -> dict:
        offers = []
        for n, (kind, name, short) in enumerate(self.world.justwatch_offers(f, country)):
            offers.append({
                "id": f"of{f.key}-{n}", "monetizationType": kind, "presentationType": "HD",
                "retailPrice": "$3.99" if kind in ("RENT", "BUY") else None,
                "retailPriceValue": 3.99 if kind in ("RENT", "BUY") else None, "currency": "USD",
                "lastChangeRetailPriceValue": None, "type": "STANDARD",
                "package": {"id": f"pa{short}", "packageId": 100 + n, "clearName": name, "technicalName": short,
                            "shortName": short, "slug": short, "monetizationTypes": [kind], "icon": f"/icon/{short}.png",
                            "__typename": "Package"},
                "standardWebURL": f"https://watch.example/{short}/{f.slug}", "elementCount": None,
                "availableTo": None, "deeplinkRoku": None, "subtitleLanguages": [], "videoTechnology": [],
                "audioTechnology": [], "audioLanguages": [], "__typename": "Offer"})
        return {
            "id": f"tm{f.key}", "objectId": f.key, "objectType": "MOVIE",
            "content": {
                "title": f.title, "fullPath": f"/{country.lower()}/movie/{f.slug}",
                "originalReleaseYear": f.year, "originalReleaseDate": f"{f.year}-06-15", "runtime": f.runtime,
                "shortDescription": f"About {f.title}.", "genres": [{"shortName": g[:3].lower()} for g in f.genres],
                "externalIds": {"imdbId": f.imdb_id, "tmdbId": str(f.tmdb_id) if f.tmdb_id else None},
                "posterUrl": f"/poster/{f.key}/{{profile}}", "backdrops": [], "ageCertification": None,
                "scoring": None, "interactions": None, "__typename": "MovieContent"},
            "streamingCharts": {"edges": []},
            "offers": offers,
            "__typename": "Movie",
        }

    def handle(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: bytes) -> Answer:
        if path != "/graphql" or method != "POST":
            return json_answer({"error": "not found"}, 404)
        if self.control.invalid_json:
            return Answer(200, "<html>oops", "application/json")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return json_answer({"errors": [{"message": "bad request body"}]}, 400)
        variables = request.get("variables") or {}
        if request.get("operationName") != "GetSearchTitles":
            return json_answer({"errors": [{"message": "unsupported operation"}]})
        country = str(variables.get("country") or "US").upper()
        wanted = fold_title((variables.get("searchTitlesFilter") or {}).get("searchQuery") or "")
        count = int(variables.get("first") or 4)
        hits = self.world.titled_like(wanted)[:count]
        return json_answer({"data": {"popularTitles": {"edges": [{"node": self.node(f, country),
                                                                  "__typename": "PopularTitlesEdge"} for f in hits],
                                                       "__typename": "PopularTitlesConnection"}}})
