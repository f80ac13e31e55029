// One recommendation card: poster, facts, why it was picked, where to stream it, links out.
import { countryName, formatNumber, formatRuntime, h } from "./common.js";
import { scoreRing } from "./charts.js";
import { directorsOf, watchNowOffers } from "./filters.js";
import { imdbUrl, letterboxdUrl, letterboxdUrlIsSearch, safeHref, tmdbUrl } from "./links.js";

const PLACEHOLDER_POSTER = "/static/img/poster-placeholder.svg";
const MAX_REASONS = 3;
const HIDDEN_GEM_OBSCURITY = 67;
const OFFER_LABELS = { flatrate: "Stream", free: "Free", ads: "Free with ads", rent: "Rent", buy: "Buy" };

function posterFor(film) {
  const src = safeHref(film.poster);
  const placeholder = () => h("div", { class: "poster poster-empty" },
    h("img", { src: PLACEHOLDER_POSTER, alt: "", width: 200, height: 300 }),
    h("span", { class: "poster-caption", "aria-hidden": "true" }, film.title || "Untitled"));
  if (!src) return placeholder();
  const img = h("img", { src, alt: "", width: 200, height: 300, loading: "lazy", decoding: "async" });
  const frame = h("div", { class: "poster" }, img);
  // Offline, or blocked by the page's policy: fall back to the drawn placeholder.
  img.addEventListener("error", () => frame.replaceWith(placeholder()), { once: true });
  return frame;
}

function metaLine(film) {
  const parts = [];
  if (Number.isInteger(film.year)) parts.push(h("span", { class: "film-year" }, String(film.year)));
  const directors = directorsOf(film);
  if (directors.length) parts.push(h("span", { class: "film-director" }, `dir. ${directors.slice(0, 2).join(", ")}`));
  const runtime = formatRuntime(film.runtime);
  if (runtime) parts.push(h("span", { class: "film-runtime" }, h("span", { class: "visually-hidden" }, "Runtime "), runtime));
  return parts.length ? h("p", { class: "film-meta" }, parts) : null;
}

function reasonsOf(film) {
  const reasons = Array.isArray(film.reasons) && film.reasons.length ? film.reasons : [];
  if (reasons.length) return reasons.slice(0, MAX_REASONS);
  return film.reason ? [film.reason] : [];
}

/** "Not out yet", with the release date when TMDB gave one, else the year. */
function unreleasedBadge(film) {
  const when = film.release_date
    ? new Date(`${film.release_date}T00:00:00Z`).toLocaleDateString(undefined,
      { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" })
    : (Number.isInteger(film.year) ? String(film.year) : "");
  return h("li", { class: "badge badge-unreleased" }, when ? `Not out yet: ${when}` : "Not out yet");
}

function badges(film) {
  const items = [];
  if (film.not_out_yet) items.push(unreleasedBadge(film));
  if (film.in_watchlist) items.push(h("li", { class: "badge badge-watchlist" }, "On your watchlist"));
  if (typeof film.obscurity === "number" && film.obscurity >= HIDDEN_GEM_OBSCURITY) {
    items.push(h("li", { class: "badge badge-gem" }, "Hidden gem"));
  }
  if (typeof film.rating_tmdb === "number" && film.rating_tmdb > 0) {
    const votes = typeof film.vote_count === "number" ? ` from ${formatNumber(film.vote_count)} votes` : "";
    items.push(h("li", { class: "badge badge-rating", title: `TMDB average ${film.rating_tmdb.toFixed(1)} of 10${votes}` },
      h("span", { "aria-hidden": "true" }, "★ "),
      h("span", { class: "visually-hidden" }, "TMDB rating "),
      `${film.rating_tmdb.toFixed(1)}`));
  }
  return items.length ? h("ul", { class: "badges", "aria-label": "Notes" }, items) : null;
}

function offerBadge(offer) {
  const label = offer.provider || "Unknown service";
  const kind = OFFER_LABELS[offer.type] || offer.type || "";
  const href = safeHref(offer.url);
  const content = [h("span", { class: "offer-provider" }, label)];
  if (kind && offer.type !== "flatrate") content.push(h("span", { class: "offer-kind" }, kind));
  const node = href
    ? h("a", { href, class: "offer-link", target: "_blank", rel: "noopener noreferrer" }, content)
    : h("span", { class: "offer-link" }, content);
  return h("li", { class: `offer offer-${offer.type || "other"}` }, node);
}

function streamingBlock(film, country, asked) {
  const where = countryName(country);
  if (film.streaming === null || film.streaming === undefined) {
    // Asked for but not found out (no source answered): unknown, never "nowhere".
    return asked ? h("div", { class: "streaming" }, h("p", { class: "streaming-unknown" }, `Where to stream this in ${where} is unknown right now.`)) : null;
  }
  const now = watchNowOffers(film);
  const paid = (film.streaming || []).filter((offer) => offer.type === "rent" || offer.type === "buy");
  const block = h("div", { class: "streaming" });
  if (now.length) {
    block.appendChild(h("p", { class: "streaming-title" }, `Watch in ${where}`));
    block.appendChild(h("ul", { class: "offers" }, uniqueOffers(now).map(offerBadge)));
  }
  if (paid.length) {
    block.appendChild(h("p", { class: "streaming-title streaming-paid" }, now.length ? "Or rent/buy" : `Rent or buy in ${where}`));
    block.appendChild(h("ul", { class: "offers offers-paid" }, uniqueOffers(paid).map(offerBadge)));
  }
  if (!now.length && !paid.length) {
    block.appendChild(h("p", { class: "streaming-none" }, `Not on a streaming service in ${where} right now.`));
  }
  return block;
}

function uniqueOffers(offers) {
  const seen = new Set();
  return offers.filter((offer) => {
    const key = `${offer.provider}|${offer.type}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function starLabel(stars) {
  const whole = Math.floor(stars);
  const text = `${whole || ""}${stars - whole ? "½" : ""}`;
  return `${text} ${stars > 1 ? "stars" : "star"}`;
}

/** "Seen it" (with optional stars) and "Not for me": either takes the card away. */
function feedbackActions(film, title, { onSeen, onNotForMe, starChoices }) {
  const selectId = `seen-${film.film_id}-stars`;
  const stars = h("select", { id: selectId, class: "seen-stars" },
    h("option", { value: "" }, "No rating"),
    starChoices.map((value) => h("option", { value: String(value) }, starLabel(value))));
  const form = h("div", { class: "seen-form", hidden: true },
    h("label", { for: selectId }, "Your rating"), stars,
    h("button", { type: "button", class: "button-secondary button-small seen-save",
      onclick: () => onSeen(film, stars.value ? Number(stars.value) : null) },
    "Mark as seen", h("span", { class: "visually-hidden" }, `: ${title}`)));
  const seen = h("button", { type: "button", class: "button-quiet button-small seen-it", "aria-expanded": "false",
    onclick: () => {
      form.hidden = !form.hidden;
      seen.setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) stars.focus();
    } }, "Seen it", h("span", { class: "visually-hidden" }, `: ${title}`));
  const notForMe = h("button", { type: "button", class: "button-quiet button-small not-for-me",
    onclick: () => onNotForMe(film) }, "Not for me", h("span", { class: "visually-hidden" }, `: ${title}`));
  return h("div", { class: "card-feedback" }, h("div", { class: "card-feedback-buttons" }, seen, notForMe), form);
}

/** Build the list item for one recommendation. */
export function renderCard(film, { country, onMoreLikeThis, settled = false, streamingAsked = false, feedback = null }) {
  const titleId = `film-${film.film_id}-title`;
  const title = film.title || "Untitled";
  const lbHref = safeHref(letterboxdUrl(film));
  const tmdbHref = safeHref(tmdbUrl(film));
  const imdbHref = safeHref(imdbUrl(film));
  const reasons = reasonsOf(film);
  const genres = (film.genres || []).slice(0, 4);
  const original = film.original_title && film.original_title !== film.title ? film.original_title : null;

  const heading = h("h3", { class: "film-title", id: titleId },
    lbHref ? h("a", { href: lbHref, target: "_blank", rel: "noopener noreferrer" }, title) : title);
  const match = typeof film.match === "number"
    ? h("div", { class: "film-match" }, scoreRing(film.match, `${Math.round(film.match)}% match`),
      h("span", { class: "film-match-label", "aria-hidden": "true" }, "match"))
    : null;

  const links = h("ul", { class: "film-links", "aria-label": `Links for ${title}` });
  if (lbHref) {
    const label = letterboxdUrlIsSearch(film) ? "Find on Letterboxd" : "Letterboxd";
    links.appendChild(h("li", {}, h("a", { href: lbHref, target: "_blank", rel: "noopener noreferrer", class: "link-lb" },
      label, h("span", { class: "visually-hidden" }, `: ${title}`))));
  }
  if (tmdbHref) {
    links.appendChild(h("li", {}, h("a", { href: tmdbHref, target: "_blank", rel: "noopener noreferrer", class: "link-tmdb" },
      "TMDB", h("span", { class: "visually-hidden" }, `: ${title}`))));
  }
  if (imdbHref) {
    links.appendChild(h("li", {}, h("a", { href: imdbHref, target: "_blank", rel: "noopener noreferrer", class: "link-imdb" },
      "IMDb", h("span", { class: "visually-hidden" }, `: ${title}`))));
  }
  if (onMoreLikeThis) {
    links.appendChild(h("li", { class: "film-links-action" }, h("button", {
      type: "button", class: "button-quiet button-small more-like",
      onclick: () => onMoreLikeThis(film),
    }, "More like this", h("span", { class: "visually-hidden" }, `: ${title}`))));
  }

  const article = h("article", { class: "film-card", "aria-labelledby": titleId, dataset: { filmId: String(film.film_id) } },
    posterFor(film),
    h("header", { class: "film-head" },
      h("div", { class: "film-heading" },
        heading,
        original ? h("p", { class: "film-original" }, original) : null,
        metaLine(film)),
      match),
    h("div", { class: "film-body" },
      genres.length ? h("ul", { class: "genres", "aria-label": "Genres" }, genres.map((genre) => h("li", {}, genre))) : null,
      reasons.length
        ? h("div", { class: "film-why" },
          h("p", { class: "film-why-title" }, "Why this film"),
          h("ul", { class: "reasons" }, reasons.map((reason) => h("li", {}, reason))))
        : null,
      badges(film),
      streamingBlock(film, country, streamingAsked),
      links,
      feedback ? feedbackActions(film, title, feedback) : null));
  return h("li", { class: settled ? "card-item is-settled" : "card-item" }, article);
}
