// Results page: the filter and sort toolbar over the picks.
import { clear, h } from "./common.js";
import {
  OBSCURITY_BANDS, RUNTIME_BANDS, SORTS, bandCounts, emptyFilters, facets, isFiltering, missingData,
} from "./filters.js";
import { renderCards } from "./results-picks.js";
import { $, state, ui } from "./results-state.js";

export function fillSelect(select, options) {
  clear(select);
  for (const [value, label] of options) select.appendChild(h("option", { value }, label));
}

/** On a phone the filters fold behind one button; the button only shows on narrow screens. */
export function initFiltersToggle() {
  const toggle = $("filters-toggle");
  toggle.addEventListener("click", () => {
    const open = !ui.toolbar.classList.contains("is-open");
    ui.toolbar.classList.toggle("is-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) ui.toolbar.querySelector("summary, select, input").focus();
  });
}

export function buildToolbar() {
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

export function readToolbar() {
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

export function refreshToolbar() {
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
export function markMissingData() {
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
