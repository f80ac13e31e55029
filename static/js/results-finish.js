// Results page: a finished run: notices, the profile summary, analytics, or the failure.
import { renderAnalytics } from "./analytics-view.js";
import { SOURCE_UNAVAILABLE_CODES, clear, formatNumber, h, isKnownCountry, showAlert } from "./common.js";
import { markedIds } from "./feedback.js";
import { resultsUrl } from "./links.js";
import { renderList } from "./list-view.js";
import { readToolbar, refreshToolbar } from "./results-filters.js";
import { markStreamingStep, renderHeading, renderMatchNote } from "./results-heading.js";
import { plural, renderCards, takeReserve } from "./results-picks.js";
import { markStep, setProgress } from "./results-progress.js";
import { follow, start } from "./results-run.js";
import { UNMATCHED_REASONS, run, state, ui } from "./results-state.js";

export function finish(payload) {
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

export function finishWithoutPayload() {
  state.finished = true;
  markStep(null);
  setProgress(1, `${plural(state.films.length, "film")} picked. The full results could not be loaded.`);
  ui.progressTitle.textContent = "Done";
  renderCards();
}

export function doneMessage(payload) {
  const seconds = typeof payload.elapsed_ms === "number" ? ` in ${formatNumber(payload.elapsed_ms / 1000, 1)} s` : "";
  return `${plural(state.films.length, "film")} picked${seconds}.`;
}

export function notice(tone, title, text) {
  return h("div", { class: `alert alert-${tone}`, role: tone === "warning" ? "note" : null },
    h("p", { class: "alert-title" }, title),
    text ? h("p", { class: "alert-message" }, text) : null);
}

export function renderNotices(payload) {
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

export function renderContribution(payload) {
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

export function renderProfile(payload) {
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
export function fail(title, message, hint, code) {
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
