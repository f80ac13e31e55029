// Results of a ranked list: which list, how much of it matched, and the titles that did not.
import { h } from "./common.js";

/** Show the list block of a payload (when the run ranked a list) above the picks. */
export function renderList(container, payload) {
  const link = document.getElementById("compare-link");
  if (link && payload && payload.username && payload.data_freshness !== "export" && payload.data_freshness !== "none") {
    link.href = `/together?a=${encodeURIComponent(payload.username)}#compare`;
  }
  const list = payload && payload.list;
  const old = document.getElementById("list-summary");
  if (old) old.remove();
  if (!list) return;
  document.getElementById("results-eyebrow").textContent = "Ranked for you";
  document.getElementById("results-title").textContent = list.name.charAt(0).toUpperCase() + list.name.slice(1);
  document.getElementById("picks-title").textContent = "The list, best for you first";
  const parts = [`${list.matched} of ${list.titles} titles matched, ${list.ranked} ranked by how much you are likely to enjoy them.`];
  if (list.filtered_out) parts.push(`${list.filtered_out} left out by your filters.`);
  if (list.not_out_yet) parts.push(`${list.not_out_yet} not out yet, after the films you can watch now.`);
  const box = h("div", { class: "alert alert-info", id: "list-summary" },
    h("p", { class: "alert-title" }, "Your list, ranked"),
    h("p", { class: "alert-message" }, parts.join(" ")));
  if (list.unmatched.length) {
    const items = list.unmatched.map((u) => h("li", {}, u.year ? `${u.name} (${u.year})` : u.name));
    box.appendChild(h("details", { class: "list-unmatched" },
      h("summary", {}, `${list.unmatched.length} not matched`), h("ul", {}, ...items)));
  }
  container.appendChild(box);
}
