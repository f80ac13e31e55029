// Results page: the picks as cards, marking them, and "more like this".
import { renderCard } from "./cards.js";
import { clear, formatNumber, h } from "./common.js";
import { STAR_CHOICES, markNotForMe, markSeen, markedIds } from "./feedback.js";
import { applyFilters, moreLikeThis } from "./filters.js";
import { refreshToolbar } from "./results-filters.js";
import { flash } from "./results-share.js";
import { SKELETON_CARDS, run, state, ui } from "./results-state.js";

export function addFilm(film) {
  if (!film || film.film_id === undefined || state.byId.has(film.film_id) || markedIds().has(film.film_id)) return;
  state.byId.set(film.film_id, film);
  state.films.push(film);
  refreshToolbar();
  renderCards();
}

export function cardFor(film) {
  let node = state.cardNodes.get(film.film_id);
  if (!node) {
    const settled = state.shownIds.has(film.film_id);
    state.shownIds.add(film.film_id);
    node = renderCard(film, { country: run.country, onMoreLikeThis: showMoreLikeThis, settled,
      streamingAsked: run.include_streaming,
      feedback: { onSeen: (seen, stars) => dismiss(seen, "seen", stars), onNotForMe: (other) => dismiss(other, "not"), starChoices: STAR_CHOICES } });
    state.cardNodes.set(film.film_id, node);
  }
  return node;
}

export function visibleFilms() {
  const filtered = applyFilters(state.films, state.filters);
  if (!state.likeOf) return filtered;
  if (state.likeFilms) return [state.likeOf, ...applyFilters(state.likeFilms, state.filters)];
  const kept = new Set(filtered.map((film) => film.film_id));
  const similar = moreLikeThis(state.likeOf, state.films).filter(({ film }) => kept.has(film.film_id));
  return [state.likeOf, ...similar.map(({ film }) => film)];
}

export function skeletonCards() {
  return Array.from({ length: SKELETON_CARDS }, () => h("li", { class: "card-item card-skeleton", "aria-hidden": "true" },
    h("div", { class: "film-card" }, h("div", { class: "poster" }), h("div", { class: "skeleton-lines" },
      h("span", {}), h("span", {}), h("span", {})))));
}

export function renderCards() {
  const films = visibleFilms();
  for (const [filmId, node] of state.cardNodes) {
    node.classList.toggle("is-anchor", Boolean(state.likeOf) && state.likeOf.film_id === filmId);
  }
  const waiting = !state.finished && state.films.length === 0;
  const wanted = waiting ? (ui.cards.querySelector(".card-skeleton") ? [...ui.cards.children] : skeletonCards())
    : films.map(cardFor);
  const current = [...ui.cards.children];
  const isPrefix = current.every((node, index) => wanted[index] === node);
  if (isPrefix) {
    for (const node of wanted.slice(current.length)) ui.cards.appendChild(node);
  } else {
    const focused = document.activeElement;
    ui.cards.replaceChildren(...wanted);
    if (focused && ui.cards.contains(focused) && document.activeElement !== focused) focused.focus();
  }
  ui.exportCsv.disabled = films.length === 0;
  const total = state.films.length;
  if (!total) {
    ui.count.textContent = state.finished ? "" : "Your picks will appear here as they are found.";
  } else if (state.likeOf) {
    const others = films.length - 1;
    ui.count.textContent = others ? `${state.likeOf.title} and ${plural(others, "similar pick")}` : "";
  } else if (films.length === total) {
    ui.count.textContent = `${plural(total, "film")}${state.finished ? "" : " so far"}`;
  } else {
    ui.count.textContent = `Showing ${formatNumber(films.length)} of ${plural(total, "film")}`;
  }
  const empty = total > 0 && films.length === 0;
  ui.empty.hidden = !empty;
  if (empty) ui.empty.textContent = "No picks match these filters. Try clearing some of them.";
  if (state.finished && !total) {
    ui.empty.hidden = false;
    ui.empty.textContent = "We could not find films to recommend this time. Try another mood or genre, or rate a few more films.";
  }
}

export function plural(count, one, many = `${one}s`) {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}

/** The next spare pick that passes the filters (else the next one), added to the list; null when none is left. */
export function takeReserve() {
  state.reserve = state.reserve.filter((film) => !state.byId.has(film.film_id));
  if (!state.reserve.length) return null;
  const index = Math.max(0, state.reserve.findIndex((film) => applyFilters([film], state.filters).length === 1));
  const [next] = state.reserve.splice(index, 1);
  state.byId.set(next.film_id, next);
  state.films.push(next);
  return next;
}

/** The member marked a card: remember it in this browser, take the card away, show the next pick. */
export function dismiss(film, kind, stars = null) {
  if (kind === "seen") markSeen(film, stars);
  else markNotForMe(film);
  const position = visibleFilms().findIndex((shown) => shown.film_id === film.film_id);
  const wasPick = state.films.some((shown) => shown.film_id === film.film_id);
  state.films = state.films.filter((shown) => shown.film_id !== film.film_id);
  if (state.likeFilms) state.likeFilms = state.likeFilms.filter((shown) => shown.film_id !== film.film_id);
  state.byId.delete(film.film_id);
  state.cardNodes.delete(film.film_id);
  if (state.likeOf && state.likeOf.film_id === film.film_id) clearMoreLikeThis();
  const next = state.finished && wasPick ? takeReserve() : null;
  refreshToolbar();
  renderCards();
  const said = kind === "seen" ? "marked as seen" : "marked not for you";
  flash(next ? `${film.title} ${said}; ${next.title} is the next pick.` : `${film.title} ${said}.`);
  const cardsNow = [...ui.cards.querySelectorAll(".film-title")];
  const focus = cardsNow[Math.min(Math.max(position, 0), cardsNow.length - 1)];
  const target = focus && (focus.querySelector("a") || focus);
  if (target) {
    if (!target.matches("a")) target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

export const MORE_LIKE_COUNT = 8;

/** Ask the model for new films like this one for this member; without a run to ask about, regroup the picks. */
export async function showMoreLikeThis(film) {
  const found = run.requestId && state.finished ? await fetchMoreLike(film) : null;
  if (!found) return showPicksLike(film);
  const kept = applyFilters(found, state.filters).length;
  showLikeBanner(film, found, found.length
    ? `New films like ${film.title}, for you: ${plural(kept, "film")}${kept < found.length ? " pass your filters" : ""}, best match first.`
    : `We found no other films like ${film.title} that you have not seen.`);
}

export async function fetchMoreLike(film) {
  const exclude = [...new Set([...state.films, ...state.reserve, ...(state.likeFilms || [])].map((one) => one.film_id).concat([...markedIds()]))]
    .filter((id) => Number.isInteger(id) && id > 0 && id !== film.film_id);
  flash(`Looking for films like ${film.title}…`);
  try {
    const response = await fetch("/api/more_like", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ request_id: run.requestId, film_id: film.film_id, count: MORE_LIKE_COUNT, exclude }),
    });
    if (!response.ok) return null;
    const body = await response.json();
    flash("");
    return Array.isArray(body.recommendations) ? body.recommendations : null;
  } catch (err) {
    return null;
  }
}

export function showPicksLike(film) {
  const similar = moreLikeThis(film, state.films);
  const genres = (film.genres || []).slice(0, 3).join(", ");
  const basis = genres ? `its director or its genres (${genres})` : "its director";
  showLikeBanner(film, null, similar.length
    ? `Films like ${film.title}: the picks that share ${basis}, closest first.`
    : `None of your other picks share ${basis} with ${film.title}.`);
}

/** Show film first with likeFilms after it (null: the picks on the page like it), and a banner that says so. */
export function showLikeBanner(film, likeFilms, text) {
  state.likeOf = film;
  state.likeFilms = likeFilms;
  clear(ui.likeBanner);
  ui.likeBanner.append(
    h("p", {}, text),
    h("button", { type: "button", class: "button-secondary button-small", onclick: clearMoreLikeThis }, "Show all picks"));
  ui.likeBanner.hidden = false;
  renderCards();
  ui.likeBanner.focus();
}

export function clearMoreLikeThis() {
  const film = state.likeOf;
  state.likeOf = null;
  state.likeFilms = null;
  ui.likeBanner.hidden = true;
  clear(ui.likeBanner);
  renderCards();
  const node = film && state.cardNodes.get(film.film_id);
  const button = node && node.querySelector(".more-like");
  if (button) button.focus();
}
