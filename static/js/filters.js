// Client-side filtering and sorting over the recommendations already received.

export const RUNTIME_BANDS = [
  ["", "Any length"],
  ["short", "Under 90 min", 0, 89],
  ["medium", "90 to 120 min", 90, 120],
  ["long", "2 to 2½ hours", 121, 150],
  ["epic", "Over 2½ hours", 151, Infinity],
];

export const OBSCURITY_BANDS = [
  ["", "Any"],
  ["popular", "Well known", 0, 33],
  ["between", "In between", 34, 66],
  ["obscure", "Hidden gems", 67, 100],
];

export const SORTS = [
  ["match", "Best match"],
  ["year-desc", "Newest first"],
  ["year-asc", "Oldest first"],
  ["rating", "Highest rated"],
];

const WATCH_NOW_TYPES = new Set(["flatrate", "free", "ads"]);

export function emptyFilters() {
  return {
    genres: new Set(),
    decade: "",
    runtime: "",
    obscurity: "",
    streamingOnly: false,
    hideWatchlist: false,
    sort: "match",
  };
}

export function isFiltering(state) {
  return state.genres.size > 0 || Boolean(state.decade || state.runtime || state.obscurity)
    || state.streamingOnly || state.hideWatchlist;
}

export function decadeOf(year) {
  return Number.isInteger(year) ? Math.floor(year / 10) * 10 : null;
}

export function watchNowOffers(film) {
  return (film.streaming || []).filter((offer) => WATCH_NOW_TYPES.has(offer.type));
}

function inBand(value, bands, key) {
  if (!key) return true;
  const band = bands.find(([name]) => name === key);
  if (!band) return true;
  if (value === null || value === undefined) return false;
  return value >= band[2] && value <= band[3];
}

export function matchesFilters(film, state) {
  if (state.genres.size) {
    const genres = film.genres || [];
    if (!genres.some((genre) => state.genres.has(genre))) return false;
  }
  if (state.decade && String(decadeOf(film.year)) !== state.decade) return false;
  if (!inBand(film.runtime, RUNTIME_BANDS, state.runtime)) return false;
  if (!inBand(film.obscurity, OBSCURITY_BANDS, state.obscurity)) return false;
  if (state.streamingOnly && !watchNowOffers(film).length) return false;
  if (state.hideWatchlist && film.in_watchlist) return false;
  return true;
}

function byNumberDesc(key) {
  return (a, b) => numberOr(b[key], -Infinity) - numberOr(a[key], -Infinity);
}

function numberOr(value, fallback) {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

const COMPARATORS = {
  match: (a, b) => a.rank - b.rank,
  "year-desc": (a, b) => byNumberDesc("year")(a.film, b.film) || a.rank - b.rank,
  "year-asc": (a, b) => numberOr(a.film.year, Infinity) - numberOr(b.film.year, Infinity) || a.rank - b.rank,
  rating: (a, b) => numberOr(filmRating(b.film), -Infinity) - numberOr(filmRating(a.film), -Infinity) || a.rank - b.rank,
};

/** A film's rating out of 10: TMDB's average when known, else the rating corpus's mean. */
export function filmRating(film) {
  if (typeof film.rating_tmdb === "number" && film.rating_tmdb > 0) return film.rating_tmdb;
  return typeof film.corpus_mean === "number" ? film.corpus_mean : null;
}

/** How many films fall in each band of a filter, by band name. */
export function bandCounts(films, bands, key) {
  const counts = new Map(bands.filter(([name]) => name).map(([name]) => [name, 0]));
  for (const film of films) {
    for (const [name, , low, high] of bands) {
      const value = film[key];
      if (name && typeof value === "number" && value >= low && value <= high) counts.set(name, counts.get(name) + 1);
    }
  }
  return counts;
}

/**
 * The controls whose data is missing for these picks, each with a short reason.
 * A control listed here would only empty the list (or change nothing), so the page disables it.
 */
export function missingData(films) {
  const reasons = {};
  if (!films.length) return reasons;
  if (!films.some((film) => typeof film.runtime === "number" && film.runtime > 0)) {
    reasons.runtime = "Lengths are unknown for these picks (no film details could be fetched).";
  }
  if (!films.some((film) => typeof film.obscurity === "number")) {
    reasons.obscurity = "How well known these picks are is unknown.";
  }
  if (!films.some((film) => Array.isArray(film.streaming))) {
    reasons.streaming = "Where these picks stream is unknown, so they cannot be filtered by it.";
  }
  if (!films.some((film) => filmRating(film) !== null)) {
    reasons.rating = "No ratings are known for these picks.";
  }
  return reasons;
}

/** The films that pass the filters, in the chosen order (ties keep the recommended order). */
export function applyFilters(films, state) {
  const ranked = films.map((film, rank) => ({ film, rank }));
  const kept = ranked.filter(({ film }) => matchesFilters(film, state));
  kept.sort(COMPARATORS[state.sort] || COMPARATORS.match);
  return kept.map(({ film }) => film);
}

/** Genres and decades present in the list, with how many films have each. */
export function facets(films) {
  const genres = new Map();
  const decades = new Map();
  for (const film of films) {
    for (const genre of film.genres || []) genres.set(genre, (genres.get(genre) || 0) + 1);
    const decade = decadeOf(film.year);
    if (decade !== null) decades.set(decade, (decades.get(decade) || 0) + 1);
  }
  return {
    genres: [...genres.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])),
    decades: [...decades.entries()].sort((a, b) => b[0] - a[0]),
  };
}

/**
 * The other picks most like one film: a shared director counts most, then each shared genre,
 * then a close release year. Films sharing neither a director nor a genre are left out.
 */
export function moreLikeThis(target, films) {
  const genres = new Set(target.genres || []);
  const directors = new Set(directorsOf(target));
  const similar = [];
  films.forEach((film, rank) => {
    if (film.film_id === target.film_id) return;
    const sharedGenres = (film.genres || []).filter((genre) => genres.has(genre));
    const sharedDirectors = directorsOf(film).filter((name) => directors.has(name));
    if (!sharedGenres.length && !sharedDirectors.length) return;
    const yearGap = Number.isInteger(film.year) && Number.isInteger(target.year)
      ? Math.abs(film.year - target.year) : 50;
    const closeness = 3 * sharedDirectors.length + sharedGenres.length + Math.max(0, 1 - yearGap / 30);
    similar.push({ film, rank, closeness, sharedGenres, sharedDirectors });
  });
  similar.sort((a, b) => b.closeness - a.closeness || a.rank - b.rank);
  return similar;
}

export function directorsOf(film) {
  if (Array.isArray(film.directors) && film.directors.length) return film.directors;
  return film.director ? [film.director] : [];
}
