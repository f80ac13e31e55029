// Together page, year in review: one member's diary for a year, drawn with the shared SVG charts.
import { clear, h, showAlert } from "./common.js";
import { columnChart } from "./charts.js";

function figure(heading, chart) {
  return h("figure", { class: "chart-card" }, h("figcaption", { class: "chart-heading" }, heading), chart);
}

function stat(label, value) {
  return h("div", {}, h("strong", {}, String(value)), label);
}

function showReview(review) {
  const box = document.getElementById("year-result");
  clear(box);
  const months = review.months;
  const ratings = review.ratings.distribution;
  const starLabel = (s) => (Number.isInteger(s) ? `${s}` : `${Math.floor(s)}½`);
  box.append(
    h("h3", { id: "year-heading" }, `${review.member.name}'s ${review.year} in film`),
    h("div", { class: "year-stats", id: "year-stats" },
      stat("films logged", review.logs),
      stat("first watches", review.first_watches),
      stat("rewatches", review.rewatches),
      stat("hours", review.hours),
      stat("day streak", review.longest_streak.days),
      stat("top decade", review.top_decade ? `${review.top_decade.name}s` : "—"),
      stat("top genre", review.top_genre ? review.top_genre.name : "—")),
    h("div", { class: "chart-grid" },
      figure("Films per month", columnChart({
        title: "Films logged per month", description: `${review.logs} diary entries in ${review.year}.`,
        items: months.map((m) => ({ label: m.month, value: m.films })), className: "chart-months", labelEvery: 1,
      })),
      figure("Hours per month", columnChart({
        title: "Hours watched per month", description: `${review.hours} hours of films with a known runtime.`,
        items: months.map((m) => ({ label: m.month, value: m.hours })), className: "chart-hours", labelEvery: 1,
      })),
      figure("Your ratings", columnChart({
        title: "Your stars this year", description: `${review.ratings.rated} films rated.`,
        items: ratings.map((r) => ({ label: starLabel(r.stars), value: r.mine })), className: "chart-ratings",
        labelEvery: 1,
      })),
      figure("The crowd's ratings of the same films", columnChart({
        title: "The crowd's average, in stars", description: "Average rating of the same films by other members.",
        items: ratings.map((r) => ({ label: starLabel(r.stars), value: r.crowd })), className: "chart-crowd",
        labelEvery: 1,
      }))),
    h("div", { class: "two-columns" },
      h("div", { class: "together-card" }, h("h3", {}, "Top rated"),
        h("ol", {}, review.top_rated.map((f) => h("li", {}, `${f.title}${f.year ? ` (${f.year})` : ""}: ${f.stars}★`)))),
      h("div", { class: "together-card" }, h("h3", {}, "Directors new to you"),
        review.new_directors.length ? h("ul", {}, review.new_directors.map((d) => h("li", {}, d)))
          : h("p", {}, "None this year.")),
      h("div", { class: "together-card" }, h("h3", {}, "Rewatched"),
        review.rewatched.length ? h("ul", {}, review.rewatched.map((t) => h("li", {}, t)))
          : h("p", {}, "No rewatches."))),
    h("p", {}, h("a", { href: review.image_url, download: `year-in-review-${review.year}.svg`, id: "year-image",
      class: "button-secondary" }, "Download the summary image (SVG)")));
  box.hidden = false;
  document.body.classList.add("year-complete");
}

/** Wire the year in review form; memberRow and runParty come from the page's shared party code. */
export function initYear({ memberRow, runParty }) {
  const list = document.getElementById("year-members");
  const row = memberRow(list, "year", 1);
  row.querySelector(".member-file").dataset.field = "export";
  document.getElementById("year-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const alert = document.getElementById("year-alert");
    const body = new FormData();
    const file = row.querySelector(".member-file").files[0];
    const name = row.querySelector(".member-name").value.trim();
    if (file) body.append("export", file, file.name);
    else if (name) body.append("username", name);
    else {
      showAlert(alert, { title: "Who is it for?", message: "Enter a username or choose an export." });
      return;
    }
    const year = document.getElementById("year-input").value.trim();
    if (year) body.append("year", year);
    document.getElementById("year-result").hidden = true;
    await runParty("/api/year-review", body, {
      alert, progress: document.getElementById("year-progress"), onCard: () => {}, onDone: showReview,
    });
  });
}
