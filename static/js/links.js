// Addresses of our own pages and of the film sites a card links to.

const LETTERBOXD = "https://letterboxd.com";
const TMDB = "https://www.themoviedb.org";
const IMDB = "https://www.imdb.com";

/** The results page for a run: /{username} for a member, /results for an upload. */
export function resultsUrl({ username, requestId, country, include_streaming, count, mood, category }) {
  const params = new URLSearchParams();
  if (requestId) params.set("request_id", requestId);
  runParams(params, { country, include_streaming, count, mood, category });
  const path = username ? `/${encodeURIComponent(username)}` : "/results";
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

/** A link anyone can open to get this member's picks: no request id, so it starts a fresh run. */
export function shareUrl(origin, { username, requestId, country, include_streaming, count, mood, category }) {
  if (!username) return `${origin}${resultsUrl({ requestId })}`;
  return `${origin}${resultsUrl({ username, country, include_streaming, count, mood, category })}`;
}

function runParams(params, { country, include_streaming, count, mood, category }) {
  if (country) params.set("country", country);
  if (include_streaming === false) params.set("streaming", "0");
  if (count) params.set("count", String(count));
  if (mood) params.set("mood", mood);
  if (category) params.set("category", category);
}

export function letterboxdUrl(film) {
  if (film.letterboxd_url) return film.letterboxd_url;
  if (film.tmdb_id) return `${LETTERBOXD}/tmdb/${encodeURIComponent(film.tmdb_id)}/`;
  if (film.imdb_id) return `${LETTERBOXD}/imdb/${encodeURIComponent(film.imdb_id)}/`;
  return `${LETTERBOXD}/search/films/${encodeURIComponent(film.title || "")}/`;
}

export function letterboxdUrlIsSearch(film) {
  return !film.letterboxd_url && !film.tmdb_id && !film.imdb_id;
}

export function tmdbUrl(film) {
  if (film.tmdb_url) return film.tmdb_url;
  if (film.tmdb_id) return `${TMDB}/movie/${encodeURIComponent(film.tmdb_id)}`;
  return null;
}

export function imdbUrl(film) {
  return film.imdb_id ? `${IMDB}/title/${encodeURIComponent(film.imdb_id)}/` : null;
}

/** Only http(s) addresses may become links; anything else is dropped. */
export function safeHref(url) {
  if (typeof url !== "string") return null;
  try {
    const parsed = new URL(url, window.location.origin);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch (err) {
    return null;
  }
}
