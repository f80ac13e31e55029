// Results page: the heading, the match note and what became of the streaming step.
import { countryName } from "./common.js";
import { stepLabel } from "./results-progress.js";
import { EXPORT_PLACEHOLDER_NAME, run, ui } from "./results-state.js";

export function renderHeading(payload) {
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

export function renderMatchNote(payload) {
  ui.matchNote.textContent = payload.match_note || "";
  ui.matchNote.hidden = !payload.match_note;
}

/** The streaming step says what happened to it: looked up, skipped, or unknown (no source answered). */
export function markStreamingStep(status) {
  const node = ui.steps.querySelector('[data-step="streaming"]');
  if (!node || !status || status === "checked" || status === "partial") return;
  node.classList.remove("is-done");
  node.classList.add("is-skipped");
  node.textContent = status === "skipped" ? `${stepLabel("streaming")}: skipped` : `${stepLabel("streaming")}: unknown`;
}
