"""Letterboxd pages and RSS rendered in the site's real structure (2025 markup, the older grid, or changed)."""
from __future__ import annotations

import json
from html import escape
from typing import Sequence

from tests.fakes.world import FakeFilm, FakeMember, Logged

HEAD = ('<!DOCTYPE html>\n<html lang="en" class="no-js"><head><meta charset="utf-8">'
        '<title>{title} • Letterboxd</title>{meta}</head>\n')
FOOT = ('<footer id="page-footer" class="page-footer"><nav class="footer-nav"><ul>'
        '<li><a href="/about/">About</a></li><li><a href="/pro/">Pro</a></li></ul></nav></footer>\n'
        '</body></html>\n')
CHALLENGE = ('<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
             '<meta http-equiv="refresh" content="360"></head><body><div class="main-wrapper" role="main">'
             '<div class="main-content"><h1 class="zone-name-title h1">letterboxd.com</h1>'
             '<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>'
             '</div></div></body></html>')


def a(value: object) -> str:
    """Escape an attribute value."""
    return escape(str(value), quote=True)


def _stars(rating: float) -> str:
    return "★" * int(rating) + ("½" if rating % 1 else "")


def grid_item(film: FakeFilm, logged: Logged | None, *, in_watchlist: bool, viewer_liked: bool) -> str:
    """One li.griditem with the LazyPoster component and the member's viewing data."""
    name = a(film.name)
    overlay_like = "icon-liked" if viewer_liked else "icon-like"
    viewing = ""
    if logged is not None:
        rating = (f'<span class="rating -micro -darker rated-{int(logged.rating * 2)}">{_stars(logged.rating)}</span> '
                  if logged.rating is not None else '<span class="rating -micro -darker "></span> ')
        like = ('<span class="like liked-micro has-icon icon-liked icon-16"><span class="icon"></span></span> '
                if logged.liked else "")
        viewing = f' <p class="poster-viewingdata" data-item-uid="film:{film.lb_id}"> {rating}{like}</p>'
    return (
        '\t\t\t\t\t\t\t<li class="griditem">\n'
        f'\t\t\t\t\t\t\t\t<div class="react-component" data-component-class="LazyPoster" '
        f'data-request-poster-metadata="true" data-likeable="true" data-watchable="true" data-rateable="true" '
        f'data-image-width="70" data-image-height="105" data-item-name="{name}" data-item-slug="{a(film.slug)}" '
        f'data-item-link="/film/{a(film.slug)}/" data-item-full-display-name="{name}" data-film-id="{film.lb_id}" '
        f'data-poster-url="/film/{a(film.slug)}/image-150/" data-is-linked="true" '
        f'data-target-link="/film/{a(film.slug)}/" data-details-endpoint="/film/{a(film.slug)}/json/" '
        f'data-show-menu="true"><div class="poster film-poster" data-watched="{str(logged is not None).lower()}" '
        f'data-in-watchlist="{str(in_watchlist).lower()}"><img src="/static/empty-poster-70.png" width="70" '
        f'height="105" alt="Poster for {name}" class="image" loading="lazy"><a href="/film/{a(film.slug)}/" '
        f'class="frame has-menu" data-original-title="{name}"><span class="frame-title">{escape(film.name)}</span>'
        f'<span class="overlay"></span><span class="overlay-actions -w70" hidden=""><span class="like-link-target">'
        f'<span class="has-icon icon-16 like-link {overlay_like}"><span class="icon"></span></span></span>'
        f'</span></a></div></div>{viewing}\n'
        '\t\t\t\t\t\t\t</li>\n')


def legacy_item(film: FakeFilm, logged: Logged | None) -> str:
    """One li.poster-container > div.film-poster, the grid before 2025."""
    viewing = ""
    if logged is not None:
        rating = f'<span class="rating rated-{int(logged.rating * 2)}">{_stars(logged.rating)}</span>' \
            if logged.rating is not None else ""
        like = '<span class="like has-icon icon-liked icon-16"><span class="icon"></span></span>' if logged.liked else ""
        viewing = f'<p class="poster-viewingdata">{rating}{like}</p>'
    return (f'<li class="poster-container"><div class="really-lazy-load poster film-poster film-poster-{film.lb_id} '
            f'linked-film-poster" data-image-width="125" data-film-id="{film.lb_id}" data-film-slug="{a(film.slug)}" '
            f'data-film-name="{a(film.title)}" data-film-release-year="{film.year}" '
            f'data-target-link="/film/{a(film.slug)}/"><img src="/static/empty-poster-125.png" class="image" '
            f'width="125" height="187" alt="{a(film.title)}"><span class="frame-title"></span></div>{viewing}</li>\n')


def changed_item(film: FakeFilm) -> str:
    """A grid item in markup the parser does not know (a redesign)."""
    return (f'<li class="tile"><a class="tile-link" href="/film/{a(film.slug)}/"><figure data-movie="{a(film.slug)}">'
            f'<figcaption>{escape(film.name)}</figcaption></figure></a></li>\n')


def pagination(base_path: str, page: int, pages: int, *, prev_label: str = "Newer", next_label: str = "Older") -> str:
    if pages <= 1:
        return ""
    prev = (f'<div class="paginate-nextprev"><a class="previous" href="{base_path}page/{page - 1}/">{prev_label}</a></div>'
            if page > 1 else f'<div class="paginate-nextprev paginate-disabled"><span class="previous">{prev_label}</span></div>')
    nxt = (f'<div class="paginate-nextprev"><a class="next" href="{base_path}page/{page + 1}/">{next_label}</a></div>'
           if page < pages else f'<div class="paginate-nextprev paginate-disabled"><span class="next">{next_label}</span></div>')
    items = []
    for n in range(1, pages + 1):
        if n == page:
            items.append(f'<li class="paginate-page paginate-current"><span>{n}</span></li>')
        elif n in (1, pages) or abs(n - page) <= 2:
            items.append(f'<li class="paginate-page"><a href="{base_path}page/{n}/">{n}</a></li>')
        elif abs(n - page) == 3:
            items.append('<li class="paginate-page unseen-pages">&hellip;</li>')
    return (f'<div class="pagination"> {prev} {nxt} <div class="paginate-pages"> <ul> {" ".join(items)} </ul> '
            f'</div> </div>')


def films_page(member: FakeMember, kind: str, films: Sequence[tuple[FakeFilm, Logged | None]], page: int,
               pages: int, total: int, *, markup: str = "current", watchlist_keys: frozenset[int] = frozenset()) -> str:
    """A member's films, likes or watchlist grid page."""
    user = a(member.username)
    base = {"films": f"/{member.username}/films/", "likes": f"/{member.username}/likes/films/",
            "watchlist": f"/{member.username}/watchlist/"}[kind]
    if markup == "legacy":
        items = "".join(legacy_item(f, lg) for f, lg in films)
        grid = f'<ul class="poster-list -p70 -grid film-list clear">\n{items}</ul>'
    elif markup == "changed":
        grid = f'<ul class="film-tiles">\n{"".join(changed_item(f) for f, _ in films)}</ul>'
    else:
        items = "".join(grid_item(f, lg, in_watchlist=f.key in watchlist_keys, viewer_liked=(f.key % 7 == 3))
                        for f, lg in films)
        grid = f'<div class="poster-grid">\n\t\t\t\t\t<ul class="grid -p70">\n{items}\t\t\t\t\t</ul>\n\t\t\t\t</div>'
    if kind == "watchlist":
        heading = (f'<div class="cols-2 js-watchlist-content" data-num-entries="{total}"><section class="section col-main">'
                   f'<header class="page-header"><h1 class="section-heading"><span class="replace-if-you">{escape(member.display_name)}'
                   f'</span> wants to see <span class="js-watchlist-count">{total}&nbsp;films</span></h1></header>')
        close = "</section></div>"
    else:
        label = "Watched" if kind == "films" else "Liked films"
        heading = (f'<section class="section col-main"><div id="content-nav" class="tabbed"> <h1 class="section-heading">'
                   f'<span class="tooltip" data-original-title="{total}&nbsp;films">{label}</span></h1> </div>')
        close = "</section>"
    meta = f'<meta property="og:title" content="{a(member.display_name)}’s films">'
    return (HEAD.format(title=escape(f"{member.display_name}’s films"), meta=meta)
            + f'<body class="screen-member-child-page films-watched logged-out" data-owner="{user}">\n'
            + '<div id="content" class="site-body"><div class="content-wrap">\n'
            + heading + "\n" + grid + "\n" + pagination(base, page, pages) + close
            + "\n</div></div>\n" + FOOT)


def member_row(member: FakeMember) -> str:
    user = a(member.username)
    return (f'<tr>\n\t<td class="col-member table-person"><div class="person-summary"> <a class="avatar -a40" '
            f'href="/{user}/" data-original-title=""> <img src="/static/avatar.png" alt="{a(member.display_name)}" '
            f'width="40" height="40"> </a> <h3 class="title-3"> <a href="/{user}/" class="name"> '
            f'{escape(member.display_name)} </a> </h3> <small class="metadata"><a href="/{user}/reviews/">'
            f'12&nbsp;reviews</a></small> </div></td>\n'
            f'\t<td class="col-watched table-stats"><a class="has-icon icon-16 icon-watched" href="/{user}/films/">'
            f'<span class="icon"></span>{len(member.films)}</a></td>\n</tr>\n')


def members_page(members: Sequence[FakeMember], page: int, pages: int) -> str:
    """One page of /members/popular/this/week/."""
    rows = "".join(member_row(m) for m in members)
    nav = pagination("/members/popular/this/week/", page, pages, prev_label="Previous", next_label="Next")
    return (HEAD.format(title="Popular members", meta="") + '<body class="popular-people logged-out">\n'
            '<div id="content" class="site-body"><section class="section">'
            '<h2 class="section-heading">Popular this week</h2>\n'
            '<table class="table-base member-table"><thead><tr><th class="col-member">Name</th>'
            '<th class="col-watched">Watched</th></tr></thead><tbody>\n'
            + rows + '</tbody></table>\n' + nav + '</section>'
            + '<aside class="sidebar"><ul class="people-shortlist"><li><a href="/someone-else/" class="name">x</a>'
            + '</li></ul></aside></div>\n' + FOOT)


def film_page(film: FakeFilm, cast: Sequence[str], *, with_json_ld: bool = True) -> str:
    """A film page with body data-tmdb-id, TMDB/IMDb links and the JSON-LD block."""
    ld = {
        "@context": "http://schema.org", "@type": "Movie", "name": film.title,
        "url": f"https://letterboxd.com/film/{film.slug}/",
        "director": [{"@type": "Person", "name": d, "sameAs": f"/director/{d.lower().replace(' ', '-')}/"}
                     for d in film.directors],
        "actors": [{"@type": "Person", "name": c} for c in cast],
        "genre": list(film.genres),
        "releasedEvent": [{"@type": "PublicationEvent", "startDate": str(film.year)}],
        "aggregateRating": {"@type": "aggregateRating", "bestRating": 5, "worstRating": 0,
                            "ratingValue": round(3 + (film.key % 20) / 10, 2), "ratingCount": 1000 + film.key * 17,
                            "reviewCount": 100 + film.key},
    }
    ld_block = ("<script type=\"application/ld+json\">\n/* <![CDATA[ */\n"
                + json.dumps(ld, ensure_ascii=False).replace("</", "<\\/") + "\n/* ]]> */\n</script>\n") \
        if with_json_ld else ""
    tmdb_attrs = f' data-tmdb-type="movie" data-tmdb-id="{film.tmdb_id}"' if film.tmdb_id else ""
    links = ""
    if film.imdb_id:
        links += (f'<a href="http://www.imdb.com/title/{film.imdb_id}/maindetails" class="micro-button track-event" '
                  'data-track-action="IMDb" target="_blank">IMDb</a> ')
    if film.tmdb_id:
        links += (f'<a href="https://www.themoviedb.org/movie/{film.tmdb_id}/" class="micro-button track-event" '
                  'data-track-action="TMDB" target="_blank">TMDB</a>')
    meta = (f'<meta property="og:title" content="{a(film.name)}">'
            f'<meta property="og:url" content="https://letterboxd.com/film/{a(film.slug)}/">'
            f'<meta name="twitter:label1" content="Directed by">'
            f'<meta name="twitter:data1" content="{a(", ".join(film.directors))}">')
    return (HEAD.format(title=escape(f"{film.name} directed by {', '.join(film.directors)}"), meta=meta)
            + f'<body class="film backdropped logged-out" data-type="film"{tmdb_attrs}>\n'
            + f'<div id="content" class="site-body"><section class="film-header"><h1 class="headline-1 primaryname">'
            + f'<span class="name">{escape(film.title)}</span></h1>'
            + f'<div class="react-component" data-component-class="LazyPoster" data-film-id="{film.lb_id}" '
            + f'data-item-slug="{a(film.slug)}"></div></section>'
            + f'<p class="text-link text-footer">More at {links}</p></div>\n' + ld_block + FOOT)


def not_found_page() -> str:
    return (HEAD.format(title="Page not found", meta="") + '<body class="error message-dark">'
            '<section class="message"><h1 class="title">Sorry, we can’t find the page you’ve requested.</h1>'
            '</section>' + FOOT)


def rss(member: FakeMember, films: dict[int, FakeFilm], base_url: str) -> str:
    """The member's /rss/ feed: diary items with letterboxd: and tmdb: elements, plus one list item."""
    items = []
    for n, lg in enumerate(member.diary):
        f = films[lg.key]
        stars = f" - {_stars(lg.rating)}" if lg.rating is not None else ""
        rating = f"<letterboxd:memberRating>{lg.rating:.1f}</letterboxd:memberRating>\n" if lg.rating is not None else ""
        tmdb = f"<tmdb:movieId>{f.tmdb_id}</tmdb:movieId>\n" if f.tmdb_id else ""
        suffix = "1/" if lg.rewatch else ""
        items.append(
            "<item>\n"
            f"<title>{escape(f.title)}, {f.year}{stars}</title>\n"
            f"<link>{base_url}/{member.username}/film/{escape(f.slug)}/{suffix}</link>\n"
            f'<guid isPermaLink="false">letterboxd-watch-{900000 + n}</guid>\n'
            f"<pubDate>Sat, 1 Nov 2025 10:{n:02d}:00 +1300</pubDate>\n"
            f"<letterboxd:watchedDate>{lg.watched_date}</letterboxd:watchedDate>\n"
            f"<letterboxd:rewatch>{'Yes' if lg.rewatch else 'No'}</letterboxd:rewatch>\n"
            f"<letterboxd:filmTitle>{escape(f.title)}</letterboxd:filmTitle>\n"
            f"<letterboxd:filmYear>{f.year}</letterboxd:filmYear>\n"
            + rating
            + f"<letterboxd:memberLike>{'Yes' if lg.liked else 'No'}</letterboxd:memberLike>\n"
            + tmdb
            + f'<description><![CDATA[ <p><img src="https://a.ltrbxd.com/poster/{f.lb_id}.jpg"/></p> '
              f"<p>Watched on {lg.watched_date}.</p> ]]></description>\n"
            f"<dc:creator>{escape(member.display_name)}</dc:creator>\n"
            "</item>\n")
    items.append(
        "<item>\n<title>Favourites</title>\n"
        f"<link>{base_url}/{member.username}/list/favourites/</link>\n"
        '<guid isPermaLink="false">letterboxd-list-4242</guid>\n'
        "<pubDate>Fri, 31 Oct 2025 09:00:00 +1300</pubDate>\n"
        "<description><![CDATA[ <p>My favourite films.</p> ]]></description>\n"
        f"<dc:creator>{escape(member.display_name)}</dc:creator>\n</item>\n")
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:letterboxd="https://letterboxd.com" xmlns:tmdb="https://themoviedb.org">\n<channel>\n'
            f"<title>Letterboxd - {escape(member.display_name)}</title>\n"
            f"<link>{base_url}/{member.username}/</link>\n"
            f"<description>Letterboxd - {escape(member.display_name)}</description>\n"
            f'<atom:link rel="self" href="{base_url}/{member.username}/rss/" type="application/rss+xml"/>\n'
            + "".join(items) + "</channel>\n</rss>\n")
