// Results page: follow a run live, then show the picks, filters, exports and analytics.
import {
  EXPIRED_CODES, SOURCE_UNAVAILABLE_CODES, STEPS as SERVER_STEPS, USERNAME_PATTERN, apiError, clear, countryName,
  defaultCountry,
  busyMessage, errorTitle, fetchWithRetry, formatNumber, h, hideAlert, initThemeToggle, isKnownCountry, markReady,
  showAlert,
} from "./common.js";
import { renderAnalytics } from "./analytics-view.js";
import { renderCard } from "./cards.js";
import { csvFilename, downloadText, toLetterboxdCsv } from "./csv.js";
import { STAR_CHOICES, feedbackField, markNotForMe, markSeen, markedIds } from "./feedback.js";
import {
  OBSCURITY_BANDS, RUNTIME_BANDS, SORTS, applyFilters, bandCounts, emptyFilters, facets, isFiltering, missingData,
  moreLikeThis,
} from "./filters.js";
import { resultsUrl, shareUrl } from "./links.js";
import { renderList } from "./list-view.js";
import { RunStreams } from "./stream.js";

// The server names the steps; those of kind "shown" are the page's step list, in order.
const STEPS = SERVER_STEPS.filter((step) => step.kind === "shown").map((step) => [step.key, step.label]);
// Steps the server may name that share a place in the list above.
const STEP_ALIASES = Object.fromEntries(
  SERVER_STEPS.filter((step) => step.kind === "alias").map((step) => [step.key, step.alias_of]));
const WAITING_STEPS = new Set(SERVER_STEPS.filter((step) => step.kind === "waiting").map((step) => step.key));
const FINAL_STEPS = new Set(SERVER_STEPS.filter((step) => step.kind === "final").map((step) => step.key));
const STEP_LABELS = new Map(SERVER_STEPS.map((step) => [step.key, step.label]));
const MAX_LOG_LINES = 400;
const RESULT_RETRY_MS = [300, 600, 1000, 1500, 2000, 3000];
const POLL_INTERVAL_MS = 2000;
const COPY_STATUS_MS = 4000;
const SKELETON_CARDS = 4;

const EXPORT_PLACEHOLDER_NAME = "export";
const UNMATCHED_REASONS = {
  "not in catalog": "not in our catalog",
  "year differs": "in our catalog with another year",
  ambiguous: "more than one film has this title",
};

const $ = (id) => document.getElementById(id);
const ui = {
  title: $("results-title"), eyebrow: $("results-eyebrow"), subtitle: $("results-subtitle"),
  alert: $("page-alert"), notices: $("notices"),
  panel: $("progress-panel"), progressTitle: $("progress-title"), progress: $("progress"),
  percent: $("progress-percent"), steps: $("steps"), message: $("progress-message"), live: $("progress-live"),
  log: $("log"), logLines: $("log-lines"), logCount: $("log-count"),
  picks: $("picks"), cards: $("cards"), count: $("results-count"), empty: $("empty-state"),
  toolbar: $("toolbar"), genreOptions: $("genre-options"), genreCount: $("genre-count"),
  decade: $("filter-decade"), runtime: $("filter-runtime"), obscurity: $("filter-obscurity"),
  streaming: $("filter-streaming"), streamingField: $("streaming-only-field"), watchlist: $("filter-watchlist"),
  sort: $("sort"), likeBanner: $("like-banner"), toolbarNote: $("toolbar-note"), matchNote: $("match-note"),
  exportCsv: $("export-csv"), copyLink: $("copy-link"), actionStatus: $("action-status"), shareLife: $("share-life"),
  shareFallback: $("share-fallback"), shareUrl: $("share-url"),
  profile: $("profile-summary"), profileBody: $("profile-body"), analytics: $("analytics"),
};

const run = readLocation();
const state = {
  films: [],
  byId: new Map(),
  cardNodes: new Map(),
  shownIds: new Set(),
  filters: emptyFilters(),
  reserve: [],
  likeOf: null,
  likeFilms: null, // films the model found like state.likeOf (null: fall back to the picks on the page)
  payload: null,
  streams: null,
  currentStep: null,
  maxProgress: 0,
  finished: false,
  logCount: 0,
};

function readLocation() {
  const params = new URLSearchParams(window.location.search);
  let path = "";
  try {
    path = decodeURIComponent(window.location.pathname.replace(/^\/+|\/+$/g, ""));
  } catch (err) {
    path = "";
  }
  const username = path && path !== "results" && USERNAME_PATTERN.test(path) ? path : null;
  const country = (params.get("country") || "").toUpperCase();
  const count = Number.parseInt(params.get("count") || "", 10);
  return {
    username,
    requestId: params.get("request_id"),
    share: params.get("share"),
    country: isKnownCountry(country) ? country : defaultCountry(),
    include_streaming: params.get("streaming") !== "0",
    count: Number.isInteger(count) && count > 0 ? count : null,
    mood: params.get("mood"),
    category: params.get("category"),
  };
}

function init() {
  initThemeToggle($("theme-toggle"));
  buildToolbar();
  initFiltersToggle();
  ui.exportCsv.addEventListener("click", exportCsv);
  ui.copyLink.addEventListener("click", copyLink);
  ui.streamingField.hidden = !run.include_streaming;
  renderHeading();
  renderSteps();
  renderCards();
  start();
  markReady();
}

function renderHeading(payload) {
  const username = (payload && payload.username) || run.username;
  const fromExport = payload ? payload.data_freshness === "export" : !run.username;
  if (!run.username && (payload ? payload.data_freshness === "none" : run.mood)) {
    ui.eyebrow.textContent = "Mood picks";
    ui.title.textContent = run.mood ? `Films for a ${run.mood} evening` : "Films for your mood";
    document.title = "Mood picks · Letterboxd Recommender";
  } else if (username && !fromExport) {
    ui.eyebrow.textContent = "Recommendations for";
    ui.title.textContent = username;
    document.title = `${username}: recommendations · Letterboxd Recommender`;
  } else {
    ui.eyebrow.textContent = "Recommendations";
    ui.title.textContent = username && username !== EXPORT_PLACEHOLDER_NAME ? `From ${username}’s export` : "From your export";
    document.title = "Your recommendations · Letterboxd Recommender";
  }
  const country = (payload && payload.country_code) || run.country;
  const name = (payload && payload.country_name) || countryName(country);
  const status = payload ? payload.streaming_status : null;
  if (!run.include_streaming || status === "skipped") ui.subtitle.textContent = "";
  else if (status === "unknown") ui.subtitle.textContent = `Streaming availability in ${name} is unknown right now`;
  else ui.subtitle.textContent = `Streaming availability for ${name}`;
}

function renderMatchNote(payload) {
  ui.matchNote.textContent = payload.match_note || "";
  ui.matchNote.hidden = !payload.match_note;
}

/** The streaming step says what happened to it: looked up, skipped, or unknown (no source answered). */
function markStreamingStep(status) {
  const node = ui.steps.querySelector('[data-step="streaming"]');
  if (!node || !status || status === "checked" || status === "partial") return;
  node.classList.remove("is-done");
  node.classList.add("is-skipped");
  node.textContent = status === "skipped" ? `${stepLabel("streaming")}: skipped` : `${stepLabel("streaming")}: unknown`;
}

// ---- Starting or resuming a run -------------------------------------------------------------

async function start() {
  if (run.share) return openShared(run.share);
  if (run.requestId) {
    const outcome = await fetchResult(run.requestId);
    if (outcome.kind === "done") return finish(outcome.payload);
    if (outcome.kind === "pending") return follow(run.requestId);
    if (outcome.kind === "missing" && run.username) return startRun();
    if (outcome.kind === "missing") {
      return fail("These results have expired",
        "Results from an uploaded export are kept for a limited time.",
        "Upload your export again to get fresh picks.");
    }
    return fail(titleForError(outcome.error), outcome.error.message, outcome.error.hint, outcome.error.code);
  }
  if (run.username) return startRun();
  return fail("Nothing to show yet", "Start from the home page with a username or your export.", "");
}

/** A shared list: the picks someone kept under a link, without anything about them. */
async function openShared(shareId) {
  try {
    const response = await fetch(`/api/shared/${encodeURIComponent(shareId)}`, { headers: { Accept: "application/json" } });
    if (response.status === 404) {
      return fail("This shared list has expired", "Shared lists are kept for a limited time.", "Ask for a new link, or start your own search.");
    }
    if (!response.ok) throw await apiError(response);
    const payload = await response.json();
    finish(payload);
    ui.eyebrow.textContent = "Shared picks";
    ui.title.textContent = "Films someone picked for you to see";
    document.title = "Shared picks · Letterboxd Recommender";
    ui.notices.appendChild(notice("info", "A shared list",
      `These picks were shared from Letterboxd Recommender. This link works until ${formatDate(payload.expires_at)}.`));
  } catch (err) {
    return fail("Could not load the shared list", err.message || "The server did not answer.", "Reload the page to try again.");
  }
}

function formatDate(iso) {
  const when = iso ? new Date(iso) : null;
  if (!when || Number.isNaN(when.getTime())) return "it expires";
  return when.toLocaleDateString(undefined, { day: "numeric", month: "long", year: "numeric" });
}

async function startRun() {
  setMessage("Starting…");
  const body = {
    username: run.username,
    country: run.country,
    include_streaming: run.include_streaming,
  };
  if (run.count) body.count = run.count;
  if (run.mood) body.mood = run.mood;
  if (run.category) body.category = run.category;
  const feedback = feedbackField();
  if (feedback) body.feedback = feedback;
  try {
    const response = await fetchWithRetry("/api/recommend", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }, (left) => setMessage(busyMessage(left)));
    if (!response.ok) throw await apiError(response);
    const accepted = await response.json();
    run.requestId = accepted.request_id;
    window.history.replaceState(null, "", resultsUrl({ ...run, username: run.username, requestId: run.requestId }));
    follow(run.requestId);
  } catch (err) {
    if (err.status === undefined) return fail("Could not reach the server", "Check your connection and reload the page.", "");
    return fail(err.status === 400 ? "Could not start" : titleForError(err), err.message, err.hint, err.code);
  }
}

/** GET /api/result: done with a payload, pending, missing (404), or failed. A busy server is asked again. */
async function fetchResult(requestId) {
  try {
    const response = await fetchWithRetry(`/api/result?request_id=${encodeURIComponent(requestId)}`, {
      headers: { Accept: "application/json" },
    }, (left) => setMessage(busyMessage(left)));
    if (response.status === 202) return { kind: "pending" };
    if (!response.ok) {
      const error = await apiError(response);
      // A 404 is either an unknown (expired) request or the run's own failure, e.g. an unknown member.
      if (response.status === 404 && (EXPIRED_CODES.has(error.code) || error.code === "http_404")) {
        return { kind: "missing" };
      }
      return { kind: "failed", error };
    }
    const payload = await response.json();
    if (payload && payload.status === "error") {
      return { kind: "failed", error: { message: payload.message || "The run failed.", hint: payload.hint || "" } };
    }
    return { kind: "done", payload };
  } catch (err) {
    return { kind: "failed", error: { message: "Could not reach the server.", hint: "Check your connection and reload." } };
  }
}

function follow(requestId) {
  state.streams = new RunStreams(requestId, {
    onStatus,
    onLog: addLog,
    onRecommendation: addFilm,
    onEnd: onChannelEnd,
    onLost: onChannelLost,
    onReconnecting: () => setMessage("Connection dropped, reconnecting…"),
  });
  state.streams.open();
}

function onChannelEnd(channel, data) {
  if (channel !== "status") return;
  if (data.status === "error") {
    state.streams.close();
    failedRun(data);
    return;
  }
  loadFinalResult();
}

/** A run ended in error: the result endpoint knows its status and code, which pick the wording. */
async function failedRun(data) {
  const outcome = await fetchResult(run.requestId);
  const error = outcome.kind === "failed" ? outcome.error : { message: data.message, hint: "" };
  const message = error.message || data.message || "Something went wrong.";
  fail(titleForError(error), message, error.hint || data.hint || "", error.code);
}

function titleForError(error) {
  return errorTitle(error, "This run could not finish");
}

function onChannelLost(channel) {
  if (state.finished) return;
  // The server refused a stream (expired, or too many open): fall back to asking for the result.
  if (channel === "status") pollResult();
}

async function loadFinalResult() {
  setProgress(1, "Putting your picks in order…");
  for (const delay of [0, ...RESULT_RETRY_MS]) {
    if (delay) await wait(delay);
    const outcome = await fetchResult(run.requestId);
    if (outcome.kind === "done") return finish(outcome.payload);
    if (outcome.kind === "failed") return fail("Could not load the results", outcome.error.message, outcome.error.hint);
    if (outcome.kind === "missing") break;
  }
  if (state.films.length) return finishWithoutPayload();
  return fail("Could not load the results", "The server did not return them.", "Reload the page to try again.");
}

async function pollResult() {
  while (!state.finished) {
    const outcome = await fetchResult(run.requestId);
    if (outcome.kind === "done") return finish(outcome.payload);
    if (outcome.kind === "missing") return fail("These results have expired", "The run is no longer known to the server.", "Start a new search.");
    if (outcome.kind === "failed") return fail("Could not load the results", outcome.error.message, outcome.error.hint);
    setMessage("Waiting for the results…");
    await wait(POLL_INTERVAL_MS);
  }
}

function wait(ms) {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}

// ---- Progress ------------------------------------------------------------------------------

function renderSteps() {
  clear(ui.steps);
  for (const [key, label] of STEPS) {
    if (key === "streaming" && !run.include_streaming) continue;
    ui.steps.appendChild(h("li", { class: "step", dataset: { step: key } }, label));
  }
}

function markStep(step) {
  const keys = STEPS.map(([key]) => key);
  const index = step === "__after__" ? keys.length : keys.indexOf(step);
  for (const node of ui.steps.children) {
    const at = keys.indexOf(node.dataset.step);
    node.classList.toggle("is-done", state.finished || (index >= 0 && at < index));
    node.classList.toggle("is-current", !state.finished && at === index);
    if (!state.finished && at === index) node.setAttribute("aria-current", "step");
    else node.removeAttribute("aria-current");
  }
}

function setMessage(text) {
  ui.message.textContent = text;
}

function setProgress(value, message) {
  if (typeof value === "number" && Number.isFinite(value)) {
    const clamped = Math.max(0, Math.min(1, value));
    ui.progress.value = clamped;
    ui.percent.textContent = `${Math.round(clamped * 100)}%`;
  } else {
    ui.progress.removeAttribute("value");
    ui.percent.textContent = "";
  }
  if (message) setMessage(message);
}

function activeSteps() {
  return STEPS.filter(([key]) => key !== "streaming" || run.include_streaming).map(([key]) => key);
}

/** Overall progress: each step takes an equal share, filled by the step's own progress. */
function overallProgress(step, progress) {
  if (FINAL_STEPS.has(step)) return 1;
  if (WAITING_STEPS.has(step)) return 0;
  const steps = activeSteps();
  const index = steps.indexOf(step);
  const within = typeof progress === "number" && Number.isFinite(progress) ? Math.max(0, Math.min(1, progress)) : 0;
  if (index < 0) return typeof progress === "number" ? within : null;
  const overall = (index + within) / steps.length;
  // Never let the bar move backwards when a step reports out of order.
  state.maxProgress = Math.max(state.maxProgress, overall);
  return state.maxProgress;
}

function onStatus(data) {
  if (state.finished) return;
  const step = STEP_ALIASES[data.step] || data.step;
  const message = data.message || stepLabel(step) || "Working…";
  setProgress(overallProgress(step, data.progress), message);
  if (step && step !== state.currentStep) {
    state.currentStep = step;
    markStep(FINAL_STEPS.has(step) ? "__after__" : step);
    if (!WAITING_STEPS.has(step)) ui.live.textContent = `${stepLabel(step)}: ${message}`;
  }
}

function stepLabel(step) {
  return STEP_LABELS.get(step) || step;
}

function addLog(data) {
  state.logCount += 1;
  const when = data.ts ? new Date(data.ts) : null;
  const time = when && !Number.isNaN(when.getTime())
    ? when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
  const level = ["info", "warning", "error"].includes(data.level) ? data.level : "info";
  ui.logLines.appendChild(h("li", { class: `log-line log-${level}` },
    time ? h("time", { datetime: data.ts }, time) : null,
    level !== "info" ? h("span", { class: "log-level" }, level) : null,
    h("span", { class: "log-message" }, data.message || "")));
  while (ui.logLines.children.length > MAX_LOG_LINES) ui.logLines.firstElementChild.remove();
  ui.logCount.textContent = `(${formatNumber(state.logCount)})`;
  if (ui.log.open) ui.logLines.lastElementChild.scrollIntoView({ block: "nearest" });
}

// ---- Picks ---------------------------------------------------------------------------------

function addFilm(film) {
  if (!film || film.film_id === undefined || state.byId.has(film.film_id) || markedIds().has(film.film_id)) return;
  state.byId.set(film.film_id, film);
  state.films.push(film);
  refreshToolbar();
  renderCards();
}

function cardFor(film) {
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

function visibleFilms() {
  const filtered = applyFilters(state.films, state.filters);
  if (!state.likeOf) return filtered;
  if (state.likeFilms) return [state.likeOf, ...applyFilters(state.likeFilms, state.filters)];
  const kept = new Set(filtered.map((film) => film.film_id));
  const similar = moreLikeThis(state.likeOf, state.films).filter(({ film }) => kept.has(film.film_id));
  return [state.likeOf, ...similar.map(({ film }) => film)];
}

function skeletonCards() {
  return Array.from({ length: SKELETON_CARDS }, () => h("li", { class: "card-item card-skeleton", "aria-hidden": "true" },
    h("div", { class: "film-card" }, h("div", { class: "poster" }), h("div", { class: "skeleton-lines" },
      h("span", {}), h("span", {}), h("span", {})))));
}

function renderCards() {
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

function plural(count, one, many = `${one}s`) {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}

/** The next spare pick that passes the filters (else the next one), added to the list; null when none is left. */
function takeReserve() {
  state.reserve = state.reserve.filter((film) => !state.byId.has(film.film_id));
  if (!state.reserve.length) return null;
  const index = Math.max(0, state.reserve.findIndex((film) => applyFilters([film], state.filters).length === 1));
  const [next] = state.reserve.splice(index, 1);
  state.byId.set(next.film_id, next);
  state.films.push(next);
  return next;
}

/** The member marked a card: remember it in this browser, take the card away, show the next pick. */
function dismiss(film, kind, stars = null) {
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

const MORE_LIKE_COUNT = 8;

/** Ask the model for new films like this one for this member; without a run to ask about, regroup the picks. */
async function showMoreLikeThis(film) {
  const found = run.requestId && state.finished ? await fetchMoreLike(film) : null;
  if (!found) return showPicksLike(film);
  const kept = applyFilters(found, state.filters).length;
  showLikeBanner(film, found, found.length
    ? `New films like ${film.title}, for you: ${plural(kept, "film")}${kept < found.length ? " pass your filters" : ""}, best match first.`
    : `We found no other films like ${film.title} that you have not seen.`);
}

async function fetchMoreLike(film) {
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

function showPicksLike(film) {
  const similar = moreLikeThis(film, state.films);
  const genres = (film.genres || []).slice(0, 3).join(", ");
  const basis = genres ? `its director or its genres (${genres})` : "its director";
  showLikeBanner(film, null, similar.length
    ? `Films like ${film.title}: the picks that share ${basis}, closest first.`
    : `None of your other picks share ${basis} with ${film.title}.`);
}

/** Show film first with likeFilms after it (null: the picks on the page like it), and a banner that says so. */
function showLikeBanner(film, likeFilms, text) {
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

function clearMoreLikeThis() {
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

// ---- Filters -------------------------------------------------------------------------------

function fillSelect(select, options) {
  clear(select);
  for (const [value, label] of options) select.appendChild(h("option", { value }, label));
}

/** On a phone the filters fold behind one button; the button only shows on narrow screens. */
function initFiltersToggle() {
  const toggle = $("filters-toggle");
  toggle.addEventListener("click", () => {
    const open = !ui.toolbar.classList.contains("is-open");
    ui.toolbar.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) ui.toolbar.querySelector("summary, select, input").focus();
  });
}

function buildToolbar() {
  fillSelect(ui.runtime, RUNTIME_BANDS);
  fillSelect(ui.obscurity, OBSCURITY_BANDS);
  fillSelect(ui.sort, SORTS);
  ui.toolbar.addEventListener("submit", (event) => event.preventDefault());
  ui.toolbar.addEventListener("change", readToolbar);
  ui.toolbar.addEventListener("reset", () => {
    window.setTimeout(() => {
      state.filters = emptyFilters();
      for (const box of ui.genreOptions.querySelectorAll("input")) box.checked = false;
      readToolbar();
    }, 0);
  });
  const dropdown = $("genre-dropdown");
  document.addEventListener("click", (event) => {
    if (dropdown.open && !dropdown.contains(event.target)) dropdown.open = false;
  });
  dropdown.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && dropdown.open) {
      dropdown.open = false;
      dropdown.querySelector("summary").focus();
    }
  });
}

function readToolbar() {
  const genres = new Set();
  for (const box of ui.genreOptions.querySelectorAll("input:checked")) genres.add(box.value);
  state.filters = {
    genres,
    decade: ui.decade.value,
    runtime: ui.runtime.value,
    obscurity: ui.obscurity.value,
    streamingOnly: ui.streaming.checked,
    hideWatchlist: ui.watchlist.checked,
    sort: ui.sort.value,
  };
  ui.genreCount.textContent = genres.size ? `(${genres.size})` : "";
  ui.toolbar.classList.toggle("is-filtering", isFiltering(state.filters));
  renderCards();
}

function refreshToolbar() {
  const { genres, decades } = facets(state.films);
  const checked = state.filters.genres;
  const existing = new Map([...ui.genreOptions.querySelectorAll("input")].map((box) => [box.value, box]));
  const list = ui.genreOptions.querySelector(".genre-list") || ui.genreOptions.appendChild(h("div", { class: "genre-list" }));
  clear(list);
  genres.forEach(([genre, count], index) => {
    const id = `genre-option-${index}`;
    const box = h("input", { type: "checkbox", id, value: genre, checked: checked.has(genre) || (existing.get(genre)?.checked ?? false) });
    list.appendChild(h("div", { class: "check" }, box, h("label", { for: id }, genre, h("span", { class: "check-count" }, ` ${count}`))));
  });
  if (!genres.length) list.appendChild(h("p", { class: "field-help" }, "No genres known yet."));
  const selected = ui.decade.value;
  fillSelect(ui.decade, [["", "Any"], ...decades.map(([decade, count]) => [String(decade), `${decade}s (${count})`])]);
  ui.decade.value = decades.some(([decade]) => String(decade) === selected) ? selected : "";
  if (state.finished) markMissingData();
}

/** Disable each control whose data these picks lack, saying why; bands with no film are greyed out. */
function markMissingData() {
  const missing = missingData(state.films);
  const bands = [[ui.runtime, RUNTIME_BANDS, "runtime"], [ui.obscurity, OBSCURITY_BANDS, "obscurity"]];
  for (const [select, list, key] of bands) {
    const counts = bandCounts(state.films, list, key);
    for (const option of select.options) {
      if (!option.value) continue;
      const count = counts.get(option.value) || 0;
      const label = list.find(([name]) => name === option.value)[1];
      option.textContent = `${label} (${count})`;
      option.disabled = count === 0;
    }
    if (select.selectedOptions[0] && select.selectedOptions[0].disabled) select.value = "";
  }
  const controls = [[ui.runtime, missing.runtime], [ui.obscurity, missing.obscurity], [ui.streaming, missing.streaming]];
  for (const [control, reason] of controls) {
    control.disabled = Boolean(reason);
    if (reason) {
      if (control.type === "checkbox") control.checked = false;
      else control.value = "";
      control.title = reason;
    } else {
      control.removeAttribute("title");
    }
  }
  const ratingSort = [...ui.sort.options].find((option) => option.value === "rating");
  if (ratingSort) ratingSort.disabled = Boolean(missing.rating);
  if (missing.rating && ui.sort.value === "rating") ui.sort.value = "match";
  const reasons = Object.values(missing);
  ui.toolbarNote.textContent = reasons.join(" ");
  ui.toolbarNote.hidden = reasons.length === 0;
}

// ---- Finishing -----------------------------------------------------------------------------

function finish(payload) {
  state.finished = true;
  if (state.streams) state.streams.close();
  state.payload = payload;
  run.username = payload.username && payload.data_freshness !== "export" ? payload.username : run.username;
  if (payload.country_code && isKnownCountry(payload.country_code)) run.country = payload.country_code;
  if (payload.streaming_status === "skipped") run.include_streaming = false;
  renderHeading(payload);
  renderMatchNote(payload);
  const films = Array.isArray(payload.recommendations) ? payload.recommendations : [];
  // The final list is authoritative: it may be reordered and carries streaming data. Films this
  // browser has marked seen or not for me make way for the spare picks that follow the list.
  const marked = markedIds();
  state.reserve = (Array.isArray(payload.reserve) ? payload.reserve : []).filter((film) => film && !marked.has(film.film_id));
  state.films = [];
  state.byId.clear();
  state.cardNodes.clear();
  let replaced = 0;
  for (const film of films) {
    if (film && film.film_id !== undefined && !state.byId.has(film.film_id)) {
      if (marked.has(film.film_id)) {
        replaced += 1;
        continue;
      }
      state.byId.set(film.film_id, film);
      state.films.push(film);
    }
  }
  for (let i = 0; i < replaced; i += 1) takeReserve();
  if (state.likeOf) state.likeOf = state.byId.get(state.likeOf.film_id) || null;
  if (!state.likeOf) state.likeFilms = null;
  if (!state.likeOf) ui.likeBanner.hidden = true;
  refreshToolbar();
  readToolbar();
  markStep(null);
  markStreamingStep(payload.streaming_status);
  setProgress(1, doneMessage(payload));
  ui.progressTitle.textContent = "Done";
  ui.panel.classList.add("is-done");
  ui.live.textContent = `Done: ${plural(state.films.length, "film")} picked for you.`;
  renderNotices(payload);
  renderContribution(payload);
  renderList(ui.notices, payload);
  renderProfile(payload);
  renderAnalytics(ui.analytics, payload.analytics);
  document.body.classList.add("is-complete");
}

function finishWithoutPayload() {
  state.finished = true;
  markStep(null);
  setProgress(1, `${plural(state.films.length, "film")} picked. The full results could not be loaded.`);
  ui.progressTitle.textContent = "Done";
  renderCards();
}

function doneMessage(payload) {
  const seconds = typeof payload.elapsed_ms === "number" ? ` in ${formatNumber(payload.elapsed_ms / 1000, 1)} s` : "";
  return `${plural(state.films.length, "film")} picked${seconds}.`;
}

function notice(tone, title, text) {
  return h("div", { class: `alert alert-${tone}`, role: tone === "warning" ? "note" : null },
    h("p", { class: "alert-title" }, title),
    text ? h("p", { class: "alert-message" }, text) : null);
}

function renderNotices(payload) {
  clear(ui.notices);
  if (payload.data_freshness === "stale_cache") {
    ui.notices.appendChild(notice("warning", "Showing your profile as we last saw it",
      payload.hint || "Letterboxd did not answer just now, so these picks use a saved copy of your films. Upload your export for the freshest results."));
  } else if (payload.hint) {
    ui.notices.appendChild(notice("info", payload.cold_start ? "Getting to know you" : "Good to know", payload.hint));
  } else if (payload.cold_start) {
    const text = payload.mood
      ? `These picks follow your “${payload.mood}” mood. Rate more films on Letterboxd for picks shaped by your own taste.`
      : "You have few rated films so far, so these picks lean on what most viewers love. Rate more films on Letterboxd and come back for sharper picks.";
    ui.notices.appendChild(notice("info", "Getting to know you", text));
  }
}

function renderContribution(payload) {
  const contribution = payload.contribution;
  if (!contribution) return;
  if (!contribution.stored) {
    ui.notices.appendChild(notice("warning", "Your ratings were not shared", contribution.message));
    return;
  }
  const box = notice("info", "Thank you for sharing your ratings",
    `${contribution.films} of your films (${contribution.ratings} rated) joined the shared corpus under a random id. ` +
    "Keep this page's link if you may want to remove them later.");
  const status = h("p", { class: "alert-message", role: "status" });
  const remove = h("button", { type: "button", class: "button-quiet button-small" }, "Remove my ratings");
  remove.addEventListener("click", async () => {
    remove.disabled = true;
    const response = await fetch(contribution.delete_url, { method: "DELETE" });
    if (response.ok || response.status === 404) {
      status.textContent = "Removed. The next training of the model no longer uses them.";
      remove.remove();
    } else {
      status.textContent = "Could not remove them just now; please try again.";
      remove.disabled = false;
    }
  });
  box.append(remove, status);
  ui.notices.appendChild(box);
}

function renderProfile(payload) {
  const profile = payload.profile;
  if (!profile) return;
  clear(ui.profileBody);
  const facts = [
    ["Films", profile.films], ["Rated", profile.rated], ["Liked", profile.liked],
    ["Watchlist", profile.watchlist], ["Matched to our catalog", profile.matched],
  ].filter(([, value]) => typeof value === "number");
  const source = { export: "your export", live: "your Letterboxd profile", rss: "your Letterboxd diary feed",
    stale_cache: "a saved copy of your profile" }[profile.source] || profile.source;
  if (source) ui.profileBody.appendChild(h("p", { class: "profile-source" }, `Read from ${source}.`));
  ui.profileBody.appendChild(h("dl", { class: "facts" },
    facts.map(([label, value]) => h("div", { class: "fact" }, h("dt", {}, label), h("dd", {}, formatNumber(value))))));
  const unmatched = Array.isArray(profile.unmatched) ? profile.unmatched : [];
  const unmatchedCount = Number.isInteger(profile.unmatched_count) ? profile.unmatched_count : unmatched.length;
  if (unmatchedCount) {
    ui.profileBody.appendChild(h("details", { class: "unmatched" },
      h("summary", {}, `${plural(unmatchedCount, "title")} we could not match`),
      h("p", { class: "field-help" },
        "We could not match these titles to a film in our catalog, so they did not shape your picks. " +
        "The likely reason is given where we know it."),
      h("ul", { class: "unmatched-list", tabindex: "0", "aria-label": "Titles we could not match" },
        unmatched.map((film) => h("li", {},
          Number.isInteger(film.year) ? `${film.name} (${film.year})` : film.name,
          film.reason ? h("span", { class: "unmatched-reason" }, ` · ${UNMATCHED_REASONS[film.reason] || film.reason}`) : null))),
      unmatchedCount > unmatched.length
        ? h("p", { class: "field-help" }, `The first ${formatNumber(unmatched.length)} are listed.`) : null));
  }
  ui.profile.hidden = false;
}

/** Stop with one alert: what happened, and the action that works; the progress panel only says it stopped. */
function fail(title, message, hint, code) {
  state.finished = true;
  if (state.streams) state.streams.close();
  ui.panel.classList.add("is-failed");
  ui.progressTitle.textContent = "Stopped";
  markStep(null);
  setProgress(state.films.length ? 1 : 0, "Stopped, see above.");
  const actions = SOURCE_UNAVAILABLE_CODES.has(code)
    ? [h("a", { href: "/#dropzone", class: "button-secondary button-small" }, "Upload your export instead")]
    : [h("a", { href: "/", class: "button-secondary button-small" }, "Back to the start")];
  if (run.username) {
    actions.push(h("a", { href: resultsUrl({ ...run, requestId: null }), class: "button-quiet button-small" }, "Try again"));
  }
  showAlert(ui.alert, { title, message, hint, actions });
  if (!state.films.length) ui.picks.hidden = true;
  ui.alert.focus();
}

// ---- Export and share ----------------------------------------------------------------------

function exportCsv() {
  const films = visibleFilms();
  if (!films.length) return;
  downloadText(toLetterboxdCsv(films), csvFilename(run.username));
  flash(`Saved ${plural(films.length, "film")} as CSV. On Letterboxd, create a list and choose Import to add them.`);
}

/** The link to share: a member's page starts fresh picks; an export's picks are kept on the server for a while. */
async function linkToShare() {
  if (run.share) return { url: window.location.href, note: "Link copied. It works until the date shown above." };
  if (run.username || !run.requestId) {
    return { url: shareUrl(window.location.origin, run), note: "Link copied. Anyone opening it gets fresh picks for this member." };
  }
  const response = await fetch("/api/share", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ request_id: run.requestId }),
  });
  if (!response.ok) throw await apiError(response);
  const kept = await response.json();
  return {
    url: `${window.location.origin}/results?share=${encodeURIComponent(kept.share_id)}`,
    note: `Link copied. It keeps these picks for ${kept.ttl_days} days.`,
    life: `Your shared link shows these picks until ${formatDate(kept.expires_at)} (${kept.ttl_days} days), without your export, profile or watchlist.`,
  };
}

async function copyLink() {
  let link;
  try {
    link = await linkToShare();
  } catch (err) {
    flash(err.message || "Could not make a link right now.");
    return;
  }
  const url = link.url;
  ui.shareUrl.value = url;
  if (link.life) {
    ui.shareLife.textContent = link.life;
    ui.shareLife.hidden = false;
  }
  try {
    await navigator.clipboard.writeText(url);
    ui.shareFallback.hidden = true;
    flash(link.note);
  } catch (err) {
    ui.shareFallback.hidden = false;
    ui.shareUrl.focus();
    ui.shareUrl.select();
    flash(`Copy the link below. ${link.note.replace(/^Link copied\. /, "")}`);
  }
}

let flashTimer = null;
function flash(text) {
  ui.actionStatus.textContent = text;
  window.clearTimeout(flashTimer);
  flashTimer = window.setTimeout(() => { ui.actionStatus.textContent = ""; }, COPY_STATUS_MS);
}

hideAlert(ui.alert);
init();
