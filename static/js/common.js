// Shared helpers for both pages: DOM building, theme, the server's lists, API errors.

import { META } from "./meta.js";

export const USERNAME_PATTERN = new RegExp(META.username.pattern);
export const USERNAME_RULE = META.username.rule;
export const USERNAME_MAX_LENGTH = META.username.max_length;
const PROFILE_URL_PATTERN = /^(?:https?:\/\/)?(?:www\.)?(?:letterboxd\.com|boxd\.it)\/([^/?#\s]+)/i;

/** [code, name] pairs of the countries the server knows, by name. */
export const COUNTRIES = META.countries;
const COUNTRY_NAMES = new Map(COUNTRIES);
const FALLBACK_COUNTRY = "US";

/** [key, label, description] of each mood. */
export const MOODS = META.moods;

/** Genres a cold-start category can be. */
export const GENRES = META.genres;

/** Progress steps of the status channel: {key, label, kind, alias_of}. */
export const STEPS = META.steps;

const THEME_KEY = "lbr-theme";
const COUNTRY_KEY = "lbr-country";

/** Build an element; strings become text nodes, so nothing is ever parsed as HTML. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function storageGet(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (err) {
    return null;
  }
}

export function storageSet(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch (err) {
    // Storage disabled: the choice simply lasts for this page.
  }
}

function systemPrefersDark() {
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
}

export function currentTheme() {
  const explicit = document.documentElement.getAttribute("data-theme");
  if (explicit === "light" || explicit === "dark") return explicit;
  return systemPrefersDark() ? "dark" : "light";
}

/** Say the page's controls are wired: the lists from /api/meta arrived and every handler is attached. */
export function markReady() {
  document.documentElement.dataset.ready = "true";
}

/** Wire the theme button: flips light/dark, remembers the choice, follows the system otherwise. */
export function initThemeToggle(button) {
  if (!button) return;
  const label = button.querySelector(".theme-toggle-label");
  const sync = () => {
    const theme = currentTheme();
    const next = theme === "dark" ? "light" : "dark";
    button.setAttribute("aria-pressed", theme === "dark" ? "true" : "false");
    button.setAttribute("title", `Switch to ${next} theme`);
    if (label) label.textContent = theme === "dark" ? "Dark" : "Light";
  };
  button.addEventListener("click", () => {
    const next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    storageSet(THEME_KEY, next);
    sync();
  });
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", sync);
  }
  sync();
}

/** Accept a bare username or a pasted profile URL; return the username or null. */
export function parseUsername(raw) {
  let value = (raw || "").trim().replace(/^@/, "");
  const fromUrl = value.match(PROFILE_URL_PATTERN);
  if (fromUrl) value = fromUrl[1];
  return USERNAME_PATTERN.test(value) ? value : null;
}

export function countryName(code) {
  return COUNTRY_NAMES.get(code) || code;
}

export function isKnownCountry(code) {
  return COUNTRY_NAMES.has(code);
}

/** The saved country, else the region of the browser's language, else the fallback. */
export function defaultCountry() {
  const saved = storageGet(COUNTRY_KEY);
  if (saved && COUNTRY_NAMES.has(saved)) return saved;
  const languages = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (const language of languages) {
    const region = regionOf(language);
    if (region && COUNTRY_NAMES.has(region)) return region;
  }
  return FALLBACK_COUNTRY;
}

function regionOf(language) {
  if (!language) return null;
  try {
    const locale = new Intl.Locale(language).maximize();
    return locale.region || null;
  } catch (err) {
    const parts = language.split(/[-_]/);
    return parts.length > 1 ? parts[parts.length - 1].toUpperCase() : null;
  }
}

export function rememberCountry(code) {
  if (COUNTRY_NAMES.has(code)) storageSet(COUNTRY_KEY, code);
}

export function fillCountrySelect(select, selected) {
  clear(select);
  for (const [code, name] of COUNTRIES) {
    select.appendChild(h("option", { value: code, selected: code === selected }, name));
  }
  select.value = selected;
}

const RETRY_BUDGET_S = 300;
const RETRY_LONGEST_WAIT_S = 120;

/**
 * fetch() that waits out a 503 carrying Retry-After (the server is full or busy for a moment)
 * and sends the request again, calling onWait(secondsLeft) each second so the page can say so.
 * Gives up once it has waited budgetS seconds in all; returns the last response, whatever it is.
 */
export async function fetchWithRetry(url, init, onWait, budgetS = RETRY_BUDGET_S) {
  let waited = 0;
  for (;;) {
    const response = await fetch(url, init);
    const wait = retryAfterSeconds(response);
    if (wait === null || waited + wait > budgetS) return response;
    for (let left = wait; left > 0; left -= 1) {
      onWait?.(left);
      await new Promise((resolve) => window.setTimeout(resolve, 1000));
    }
    waited += wait;
  }
}

function retryAfterSeconds(response) {
  if (response.status !== 503) return null;
  const seconds = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, RETRY_LONGEST_WAIT_S) : null;
}

/** What the page shows while it waits to send a refused request again. */
export function busyMessage(secondsLeft) {
  return `Busy, trying again in ${secondsLeft} s`;
}

/** Codes of a 503 that mean this service is busy, not that Letterboxd refuses us. */
const BUSY_CODES = new Set(META.errors.busy);
/** Codes of a Letterboxd that cannot be used right now, which the export upload gets past. */
export const SOURCE_UNAVAILABLE_CODES = new Set(META.errors.source_unavailable);
/** Codes of a run the server no longer keeps. */
export const EXPIRED_CODES = new Set(META.errors.expired);
/** Codes of a list or watchlists that gave no film to rank. */
const NOTHING_TO_RANK_CODES = new Set(META.errors.nothing_to_rank);

export function isBusy(error) {
  return error.status === 503 && BUSY_CODES.has(error.code);
}

/** The alert title for an API error a member can act on (unknown member, busy, Letterboxd away), else otherwise. */
export function errorTitle(error, otherwise) {
  if (NOTHING_TO_RANK_CODES.has(error.code)) return "Nothing to rank";
  if (error.status === 404) return "No such Letterboxd member";
  if (isBusy(error)) return "We are very busy right now";
  if (error.code === "letterboxd_unreachable") return "No connection to Letterboxd";
  if (error.code === "letterboxd_blocked") return "Letterboxd is refusing our requests";
  if (error.status === 503) return "Letterboxd is not answering us right now";
  if (error.status === 429) return "Slow down a little";
  return otherwise;
}

/** A readable error from an API response with a {"error", "message"} body. */
export async function apiError(response) {
  let body = {};
  try {
    body = await response.json();
  } catch (err) {
    body = {};
  }
  const code = body.error || `http_${response.status}`;
  const error = new Error(body.message || defaultMessage(response.status));
  error.status = response.status;
  error.code = code;
  error.hint = hintFor(response.status, code, body, error.message);
  error.retryAfter = response.headers.get("Retry-After");
  return error;
}

function defaultMessage(status) {
  if (status === 404) return "We could not find that.";
  if (status === 413) return "That file is too large.";
  if (status === 429) return "Too many requests right now.";
  if (status >= 500) return "Something went wrong on our side.";
  return "That request could not be completed.";
}

const EXPORT_INSTEAD_HINT =
  "You can still get recommendations from your export: on Letterboxd open Settings, then Data, " +
  "then Export your data, and upload the ZIP instead.";

function hintFor(status, code, body, message) {
  if (body.hint) return body.hint;
  const mentionsExport = /export/i.test(message || "");
  if (status === 404 && /user|member/.test(code)) {
    return "Check the spelling: it is the name in your profile address, letterboxd.com/name/.";
  }
  if (BUSY_CODES.has(code)) return "Please try again in a minute.";
  if (SOURCE_UNAVAILABLE_CODES.has(code)) return mentionsExport ? "" : EXPORT_INSTEAD_HINT;
  if (status === 413) return "Upload the ZIP exactly as Letterboxd sent it, or just its ratings.csv.";
  if (status === 429) return "Please wait a minute and try again.";
  if (/upload|export|file|zip|csv/.test(code) && !mentionsExport) {
    return "Upload the ZIP from Letterboxd (Settings, Data, Export your data) or one of its CSV files.";
  }
  return "";
}

export function exportInsteadHint() {
  return EXPORT_INSTEAD_HINT;
}

/** Names as a sentence writes them: "a", "a and b", "a, b and c". */
export function andList(names) {
  return names.length < 2 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

export function formatRuntime(minutes) {
  if (!minutes || minutes <= 0) return "";
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (!hours) return `${rest}m`;
  return rest ? `${hours}h ${rest}m` : `${hours}h`;
}

export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return Number(value).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Show a message in an alert region: a title line, the message and an optional hint. */
export function showAlert(region, { title, message, hint, tone = "error", actions = [] }) {
  clear(region);
  region.hidden = false;
  region.className = `alert alert-${tone}`;
  if (title) region.appendChild(h("p", { class: "alert-title" }, title));
  if (message) region.appendChild(h("p", { class: "alert-message" }, message));
  if (hint) region.appendChild(h("p", { class: "alert-hint" }, hint));
  if (actions.length) region.appendChild(h("p", { class: "alert-actions" }, actions));
}

export function hideAlert(region) {
  clear(region);
  region.hidden = true;
}
