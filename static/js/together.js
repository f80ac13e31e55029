// Together page: group night, compare with a friend, year in review. Members are added one by one,
// each a username or an export; runs stream over the same three channels as a recommendation.
import {
  andList, apiError, clear, defaultCountry, errorTitle, fetchWithRetry, h, hideAlert, initThemeToggle, markReady,
  parseUsername, showAlert,
} from "./common.js";
import { renderCard } from "./cards.js";
import { CHANNELS, RunStreams } from "./stream.js";
import { initYear } from "./year-view.js";

const MAX_GROUP = 8;
const country = defaultCountry();

/** A member row: a username field or an export file. */
function memberRow(list, prefix, index, { removable = false, username = "" } = {}) {
  const id = `${prefix}-member-${index}`;
  const row = h("li", { class: "member-row", dataset: { slot: String(index) } },
    h("label", { class: "field-label", for: `${id}-name` }, `Member ${index}`),
    h("input", { type: "text", id: `${id}-name`, class: "member-name", placeholder: "username", autocapitalize: "none",
      spellcheck: "false", maxlength: "120", value: username }),
    h("span", {}, "or"),
    h("input", { type: "file", id: `${id}-file`, class: "member-file", accept: ".zip,.csv",
      "aria-label": `Member ${index}'s export` }),
    removable ? h("button", { type: "button", class: "button-quiet button-small",
      onclick: () => row.remove() }, "Remove") : null);
  list.appendChild(row);
  return row;
}

/** The members of a form as a FormData body, or throws an Error naming the row to fix. */
function membersBody(list) {
  const body = new FormData();
  for (const row of list.querySelectorAll(".member-row")) {
    const slot = row.dataset.slot;
    const file = row.querySelector(".member-file").files[0];
    const raw = row.querySelector(".member-name").value.trim();
    if (file) body.append(`export_${slot}`, file, file.name);
    else if (raw) {
      const name = parseUsername(raw);
      if (!name) throw new Error(`Member ${slot}: “${raw}” is not a Letterboxd username.`);
      body.append("members", name);
    }
  }
  body.append("country", country);
  return body;
}

/** Wire the members form named by prefix: on submit, send its body; a row to fix is named in its alert instead. */
function onMembersSubmit(prefix, list, send) {
  const alert = document.getElementById(`${prefix}-alert`);
  document.getElementById(`${prefix}-form`).addEventListener("submit", async (event) => {
    event.preventDefault();
    let body;
    try {
      body = membersBody(list);
    } catch (err) {
      showAlert(alert, { title: "Please check the members", message: err.message });
      return;
    }
    await send(body, alert);
  });
}

/** Post a party request, follow its streams, and hand over the final payload. */
async function runParty(url, body, { alert, progress, onCard, onDone }) {
  hideAlert(alert);
  clear(progress);
  let response;
  try {
    response = await fetch(url, { method: "POST", body });
  } catch (err) {
    showAlert(alert, { title: "Could not reach the server", message: "Check your connection and try again." });
    return;
  }
  if (!response.ok) {
    const error = await apiError(response);
    showAlert(alert, { title: errorTitle(error, "Please check the members"), message: error.message, hint: error.hint });
    return;
  }
  const { request_id: requestId } = await response.json();
  const lines = new Map();
  const matched = new Set();
  const line = (key) => {
    if (!lines.has(key)) lines.set(key, progress.appendChild(h("li", { class: "member-status" })));
    return lines.get(key);
  };
  // The status and log channels stream apart, so a member's "matched" line may arrive before their "Reading" one.
  const streams = new RunStreams(requestId, {
    onStatus: (data) => {
      if (!data.message) return;
      // One line per member while their films are read, then one for the rest.
      const key = /^Reading (.+?)'s films/.exec(data.message)?.[1] || "all";
      if (!matched.has(key)) line(key).textContent = data.message;
    },
    onLog: (data) => {
      const member = /^(\w+): matched/.exec(data.message || "");
      if (!member) return;
      matched.add(member[1]);
      line(member[1]).textContent = data.message;
    },
    onRecommendation: onCard,
    onLost: (channel) => finishChannel(channel),
    onEnd: (channel) => finishChannel(channel),
  });
  const ended = new Set();
  // The result is read once every channel has ended, so no member's progress line is cut off.
  async function finishChannel(channel) {
    ended.add(channel);
    if (ended.size < CHANNELS.length) return;
    streams.close();
    const result = await fetchWithRetry(`/api/result?request_id=${encodeURIComponent(requestId)}`);
    if (!result.ok) {
      const error = await apiError(result);
      showAlert(alert, { title: errorTitle(error, "That did not work"), message: error.message, hint: error.hint });
      return;
    }
    onDone(await result.json());
  }
  streams.open();
}

/** A card with a small meter per member: how much each is likely to enjoy it, and why (and whose watchlists). */
function memberCard(film) {
  const item = renderCard(film, { country, settled: true });
  const meters = h("div", { class: "meters", "aria-label": "How much each of you is likely to enjoy it" },
    (film.members || []).map((m) => [
      h("div", { class: "meter-row" },
        h("span", {}, m.name),
        h("meter", { min: "0", max: "100", low: "35", high: "65", optimum: "100", value: String(m.match),
          "aria-label": `${m.name}: ${m.match}%` }),
        h("span", {}, `${m.match}%`)),
      m.reason ? h("p", { class: "member-reason" }, m.reason) : null,
    ]));
  const body = item.querySelector(".film-body");
  body.prepend(meters);
  if (Array.isArray(film.on_watchlists) && film.on_watchlists.length) {
    body.prepend(h("p", { class: "on-watchlists" }, `On the watchlists of ${andList(film.on_watchlists)}`));
  }
  return item;
}

function showCards(list, films) {
  clear(list);
  for (const film of films) list.appendChild(memberCard(film));
}

// ---- group night ---------------------------------------------------------------------------

function initGroup() {
  const list = document.getElementById("group-members");
  let next = 1;
  const add = () => {
    if (list.children.length >= MAX_GROUP) return;
    memberRow(list, "group", next, { removable: next > 2 });
    next += 1;
  };
  add();
  add();
  document.getElementById("group-add").addEventListener("click", add);
  const cards = document.getElementById("group-cards");
  const notes = document.getElementById("group-notes");
  onMembersSubmit("group", list, async (body, alert) => {
    clear(cards);
    hideAlert(notes);
    document.body.classList.remove("group-complete");
    document.getElementById("group-method").textContent = "";
    const from = document.querySelector("input[name=group-from]:checked");
    if (from && from.value) body.append("from_list", from.value);
    await runParty("/api/group", body, {
      alert, progress: document.getElementById("group-progress"),
      onCard: (film) => cards.appendChild(memberCard(film)),
      onDone: (payload) => {
        showCards(cards, payload.recommendations);
        if (payload.watchlists) showWatchlists(notes, payload);
        document.getElementById("group-method").textContent = `How the order is chosen: ${payload.method}`;
        document.body.classList.add("group-complete");
      },
    });
  });
}

/** What a watchlist night read: the films on the watchlists, those left out and why, and notes about members. */
function showWatchlists(box, payload) {
  const lists = payload.watchlists;
  const parts = [`${lists.films} films on your watchlists, ${lists.ranked} ranked for all of you.`];
  if (lists.seen) parts.push(`${lists.seen} left out: one of you has seen them.`);
  if (lists.filtered_out) parts.push(`${lists.filtered_out} left out by your filters.`);
  showAlert(box, { title: "Your watchlists", message: parts.join(" "), tone: "info" });
  if (lists.not_out_yet.length) {
    box.appendChild(h("p", { class: "not-out-yet" }, `Not out yet, so not for tonight: ${lists.not_out_yet
      .map((f) => `${f.title} (${f.release_date || f.year || "date unknown"})`).join("; ")}.`));
  }
  for (const note of payload.notes) box.appendChild(h("p", { class: "member-note" }, note));
  if (lists.unmatched.length) {
    const items = lists.unmatched.map((u) => h("li", {}, u.year ? `${u.name} (${u.year})` : u.name));
    box.appendChild(h("details", { class: "list-unmatched" },
      h("summary", {}, `${lists.unmatched_count} not matched`), h("ul", {}, ...items)));
  }
}

// ---- compare ---------------------------------------------------------------------------------

function filmList(title, rows, names) {
  return h("div", { class: "together-card" }, h("h3", {}, title),
    rows.length ? h("ul", {}, rows.map((r) => h("li", {},
      `${r.title}${r.year ? ` (${r.year})` : ""}: ${names[0]} ${r.stars[0]}★, ${names[1]} ${r.stars[1]}★`)))
      : h("p", {}, "None yet."));
}

function sharedList(title, rows) {
  return h("div", { class: "together-card" }, h("h3", {}, title),
    rows.length ? h("ul", {}, rows.map((r) => h("li", {}, r.name))) : h("p", {}, "Nothing in common yet."));
}

function showCompare(payload) {
  const box = document.getElementById("compare-result");
  const names = payload.members.map((m) => m.name);
  clear(box);
  box.append(
    h("div", { class: "together-card" },
      h("p", { class: "match-figure", id: "compare-percent" }, `${payload.percent}%`),
      h("p", {}, `${names[0]} and ${names[1]}: taste match`),
      h("p", { class: "field-help" }, payload.method.explanation)),
    h("div", { class: "two-columns" },
      filmList("You agree on", payload.agree, names), filmList("You disagree on", payload.disagree, names),
      sharedList("Directors you both love", payload.shared_directors),
      sharedList("Genres you both love", payload.shared_genres)),
    h("h3", {}, "Neither of you has seen these, and you should both like them"));
  box.hidden = false;
  showCards(document.getElementById("compare-cards"), payload.recommendations);
  document.body.classList.add("compare-complete");
}

function initCompare() {
  const list = document.getElementById("compare-members");
  const first = new URLSearchParams(window.location.search).get("a") || "";
  memberRow(list, "compare", 1, { username: parseUsername(first) || "" });
  memberRow(list, "compare", 2);
  onMembersSubmit("compare", list, async (body, alert) => {
    clear(document.getElementById("compare-cards"));
    document.getElementById("compare-result").hidden = true;
    await runParty("/api/compare", body, {
      alert, progress: document.getElementById("compare-progress"),
      onCard: () => {},
      onDone: showCompare,
    });
  });
}

initThemeToggle(document.getElementById("theme-toggle"));
initGroup();
initCompare();
initYear({ memberRow, runParty });
markReady();
