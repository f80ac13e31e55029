"""A fake letterboxd.com: member grids, likes, watchlist, RSS, film pages and popular members."""
from __future__ import annotations

import re
from typing import Mapping

from tests.fakes import letterboxd_pages as pages
from tests.fakes.server import PAGE_COOKIE, Answer, FakeServer, challenge_answer
from tests.fakes.world import FakeFilm, FakeMember, Logged, World, build_world

MEMBERS_PER_PAGE = 30
DEFAULT_PAGE_SIZE = 12

LIST_RE = re.compile(r"^/(?P<user>[A-Za-z0-9_]+)/(?P<kind>films|likes/films|watchlist)/(?:page/(?P<page>\d+)/)?$")
RSS_RE = re.compile(r"^/(?P<user>[A-Za-z0-9_]+)/rss/$")
FILM_RE = re.compile(r"^/film/(?P<slug>[a-z0-9-]+)/$")
TMDB_RE = re.compile(r"^/tmdb/(?P<id>\d+)/$")
# A member's list: the fake serves every list of a member as that member's logged films, in order.
NAMED_LIST_RE = re.compile(r"^/(?P<user>[A-Za-z0-9_]+)/list/(?P<slug>[a-z0-9-]+)/(?:page/(?P<page>\d+)/)?$")
MEMBERS_RE = re.compile(r"^/members/popular/this/week/(?:page/(?P<page>\d+)/)?$")


class FakeLetterboxd(FakeServer):
    """Serve the world's members in Letterboxd's markup; page_size films per grid page."""

    name = "letterboxd"

    def __init__(self, world: World | None = None, *, page_size: int = DEFAULT_PAGE_SIZE, port: int = 0) -> None:
        super().__init__(port)
        self.world = world or build_world()
        self.page_size = page_size
        self._films = {f.key: f for f in self.world.films}
        self.list_requests = 0

    def use_world(self, world: World) -> None:
        super().use_world(world)
        self._films = {f.key: f for f in world.films}

    def _rows(self, member: FakeMember, kind: str) -> list[tuple[FakeFilm, Logged | None]]:
        logged = {lg.key: lg for lg in member.films}
        if kind == "films":
            return [(self._films[lg.key], lg) for lg in member.films]
        keys = member.likes if kind == "likes/films" else member.watchlist
        return [(self._films[k], logged.get(k)) for k in keys]

    def handle(self, method: str, path: str, query: Mapping[str, list[str]], headers: Mapping[str, str],
               body: bytes) -> Answer:
        if m := LIST_RE.match(path):
            page = int(m.group("page") or 1)
            cookie = f"{PAGE_COOKIE}=ok"
            if self.control.cookie_pages and page > 1 and cookie not in headers.get("cookie", ""):
                return challenge_answer()
            answer = self._list(m.group("user"), m.group("kind"), page)
            if self.control.cookie_pages and page == 1:
                answer.headers["Set-Cookie"] = f"{cookie}; Path=/; HttpOnly"
            return answer
        if m := NAMED_LIST_RE.match(path):
            self.list_requests += 1
            return self._list(m.group("user"), "films", int(m.group("page") or 1))
        if m := RSS_RE.match(path):
            member = self.world.members.get(m.group("user").lower())
            if member is None:
                return Answer(404, pages.not_found_page())
            return Answer(200, pages.rss(member, self._films, "https://letterboxd.com"),
                          "application/rss+xml; charset=utf-8")
        if m := FILM_RE.match(path):
            film = self.world.by_slug.get(m.group("slug"))
            if film is None:
                return Answer(404, pages.not_found_page())
            return Answer(200, pages.film_page(film, self.world.cast(film),
                                               with_json_ld=self.control.markup != "changed"))
        if m := TMDB_RE.match(path):
            film = self.world.by_tmdb.get(int(m.group("id")))
            if film is None:
                return Answer(404, pages.not_found_page())
            return Answer(302, "", headers={"Location": f"/film/{film.slug}/"})
        if m := MEMBERS_RE.match(path):
            return self._members(int(m.group("page") or 1))
        return Answer(404, pages.not_found_page())

    def _list(self, user: str, kind: str, page: int) -> Answer:
        member = self.world.members.get(user.lower())
        if member is None:
            return Answer(404, pages.not_found_page())
        rows = self._rows(member, kind)
        size = self.page_size
        count = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size: page * size]
        if self.control.truncate and page < count:
            chunk = chunk[: len(chunk) // 2]
        short_kind = "likes" if kind == "likes/films" else kind
        return Answer(200, pages.films_page(member, short_kind, chunk, page, count, len(rows),
                                           markup=self.control.markup,
                                           watchlist_keys=frozenset(member.watchlist)))

    def _members(self, page: int) -> Answer:
        names = self.world.popular
        count = max(1, -(-len(names) // MEMBERS_PER_PAGE))
        chunk = names[(page - 1) * MEMBERS_PER_PAGE: page * MEMBERS_PER_PAGE]
        return Answer(200, pages.members_page([self.world.members[n] for n in chunk], page, count))
