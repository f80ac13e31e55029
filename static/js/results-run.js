// Results page: starting or resuming a run, following its streams, and its result.
import { EXPIRED_CODES, apiError, busyMessage, errorTitle, fetchWithRetry } from "./common.js";
import { feedbackField } from "./feedback.js";
import { resultsUrl } from "./links.js";
import { fail, finish, finishWithoutPayload, notice } from "./results-finish.js";
import { addFilm } from "./results-picks.js";
import { addLog, onStatus, setMessage, setProgress } from "./results-progress.js";
import { POLL_INTERVAL_MS, RESULT_RETRY_MS, run, state, ui } from "./results-state.js";
import { RunStreams } from "./stream.js";

export async function start() {
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
export async function openShared(shareId) {
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

export function formatDate(iso) {
  const when = iso ? new Date(iso) : null;
  if (!when || Number.isNaN(when.getTime())) return "it expires";
  return when.toLocaleDateString(undefined, { day: "numeric", month: "long", year: "numeric" });
}

export async function startRun() {
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
export async function fetchResult(requestId) {
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

export function follow(requestId) {
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

export function onChannelEnd(channel, data) {
  if (channel !== "status") return;
  if (data.status === "error") {
    state.streams.close();
    failedRun(data);
    return;
  }
  loadFinalResult();
}

/** A run ended in error: the result endpoint knows its status and code, which pick the wording. */
export async function failedRun(data) {
  const outcome = await fetchResult(run.requestId);
  const error = outcome.kind === "failed" ? outcome.error : { message: data.message, hint: "" };
  const message = error.message || data.message || "Something went wrong.";
  fail(titleForError(error), message, error.hint || data.hint || "", error.code);
}

export function titleForError(error) {
  return errorTitle(error, "This run could not finish");
}

export function onChannelLost(channel) {
  if (state.finished) return;
  // The server refused a stream (expired, or too many open): fall back to asking for the result.
  if (channel === "status") pollResult();
}

export async function loadFinalResult() {
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

export async function pollResult() {
  while (!state.finished) {
    const outcome = await fetchResult(run.requestId);
    if (outcome.kind === "done") return finish(outcome.payload);
    if (outcome.kind === "missing") return fail("These results have expired", "The run is no longer known to the server.", "Start a new search.");
    if (outcome.kind === "failed") return fail("Could not load the results", outcome.error.message, outcome.error.hint);
    setMessage("Waiting for the results…");
    await wait(POLL_INTERVAL_MS);
  }
}

export function wait(ms) {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}
