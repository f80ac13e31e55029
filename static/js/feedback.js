// "Seen it" and "not for me": kept in this browser only, sent with the next request so the
// server can fold them into the member's profile for that run (it stores nothing of them).
import { storageGet, storageSet } from "./common.js";
import { META } from "./meta.js";

const KEY = "lbr-feedback";
export const STAR_CHOICES = [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5];

function read() {
  try {
    const saved = JSON.parse(storageGet(KEY) || "{}");
    return { seen: saved.seen || {}, notForMe: saved.notForMe || {} };
  } catch (err) {
    return { seen: {}, notForMe: {} };
  }
}

function write(data) {
  storageSet(KEY, JSON.stringify(data));
}

/** Remember that the member has seen a film, with stars (0.5-5) or null. */
export function markSeen(film, rating) {
  const data = read();
  delete data.notForMe[film.film_id];
  data.seen[film.film_id] = { rating: STAR_CHOICES.includes(rating) ? rating : null, title: film.title, at: Date.now() };
  write(data);
}

/** Remember that a film is not for the member. */
export function markNotForMe(film) {
  const data = read();
  delete data.seen[film.film_id];
  data.notForMe[film.film_id] = { title: film.title, at: Date.now() };
  write(data);
}

/** Ids of every film the member marked, either way. */
export function markedIds() {
  const data = read();
  return new Set([...Object.keys(data.seen), ...Object.keys(data.notForMe)].map(Number));
}

/** The request's `feedback` field (newest first, within the server's limit), or null when nothing is marked. */
export function feedbackField() {
  const data = read();
  const entries = [
    ...Object.entries(data.seen).map(([id, v]) => ({ id: Number(id), at: v.at || 0, seen: true, rating: v.rating ?? null })),
    ...Object.entries(data.notForMe).map(([id, v]) => ({ id: Number(id), at: v.at || 0, seen: false })),
  ].filter((entry) => Number.isInteger(entry.id) && entry.id > 0).sort((a, b) => b.at - a.at);
  const limit = Number.isInteger(META.feedback_max_films) ? META.feedback_max_films : entries.length;
  const kept = entries.slice(0, limit);
  if (!kept.length) return null;
  return {
    seen: kept.filter((e) => e.seen).map((e) => ({ film_id: e.id, rating: e.rating })),
    not_for_me: kept.filter((e) => !e.seen).map((e) => e.id),
  };
}
