// Results page: its constants, its elements, the run the address names and the page's state.
import { STEPS as SERVER_STEPS, USERNAME_PATTERN, defaultCountry, isKnownCountry } from "./common.js";
import { emptyFilters } from "./filters.js";
import { shareUrl } from "./links.js";
import { copyLink, exportCsv } from "./results-share.js";

// The server names the steps; those of kind "shown" are the page's step list, in order.
export const STEPS = SERVER_STEPS.filter((step) => step.kind === "shown").map((step) => [step.key, step.label]);
// Steps the server may name that share a place in the list above.
export const STEP_ALIASES = Object.fromEntries(
  SERVER_STEPS.filter((step) => step.kind === "alias").map((step) => [step.key, step.alias_of]));
export const WAITING_STEPS = new Set(SERVER_STEPS.filter((step) => step.kind === "waiting").map((step) => step.key));
export const FINAL_STEPS = new Set(SERVER_STEPS.filter((step) => step.kind === "final").map((step) => step.key));
export const STEP_LABELS = new Map(SERVER_STEPS.map((step) => [step.key, step.label]));
export const MAX_LOG_LINES = 400;
export const RESULT_RETRY_MS = [300, 600, 1000, 1500, 2000, 3000];
export const POLL_INTERVAL_MS = 2000;
export const COPY_STATUS_MS = 4000;
export const SKELETON_CARDS = 4;

export const EXPORT_PLACEHOLDER_NAME = "export";
export const UNMATCHED_REASONS = {
  "not in catalog": "not in our catalog",
  "year differs": "in our catalog with another year",
  ambiguous: "more than one film has this title",
};

export const $ = (id) => document.getElementById(id);
export const ui = {
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

export const run = readLocation();
export const state = {
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

export function readLocation() {
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
