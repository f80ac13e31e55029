// Draw the member's analytics: stat tiles, SVG charts and the films where they differ most.
import { clear, formatNumber, h } from "./common.js";
import { barChart, columnChart } from "./charts.js";

const RECENT_MONTHS = 24;
const TOP_ROWS = 8;
const MONTH_CHART_MIN_WIDTH = 340;
const MONTH_CHART_MAX_WIDTH = 1100;
const CHART_CARD_PADDING = 34;
const STAR_SCALE = 5;
const MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

export function starsLabel(rating) {
  if (typeof rating !== "number") return "";
  const whole = Math.floor(rating);
  return `${whole ? String(whole) : ""}${rating - whole >= 0.5 ? "½" : ""}` || "0";
}

function plural(count, one, many = `${one}s`) {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}

function statTile(label, value, note) {
  return h("div", { class: "stat" },
    h("dt", { class: "stat-label" }, label),
    h("dd", { class: "stat-value" }, value),
    note ? h("dd", { class: "stat-note" }, note) : null);
}

function stats(analytics) {
  const counts = analytics.counts || {};
  const hours = analytics.hours_watched || {};
  const contrarian = analytics.contrarian || {};
  const tiles = [statTile("Films watched", formatNumber(counts.films || 0),
    counts.watchlist ? `${formatNumber(counts.watchlist)} more on your watchlist` : null)];
  tiles.push(statTile("Average rating",
    typeof analytics.mean_rating === "number" ? `${analytics.mean_rating.toFixed(2)} ★` : "–",
    `${plural(counts.rated || 0, "rated film")}`));
  let hoursNote;
  if (hours.hours === null || hours.hours === undefined) hoursNote = "Runtimes are not known for these films yet";
  else if (hours.complete) hoursNote = `${plural(hours.viewings || 0, "viewing")}, rewatches included`;
  else hoursNote = `From the ${formatNumber(hours.films_with_runtime)} of ${plural(hours.films || 0, "film")} with a known runtime`;
  tiles.push(statTile("Hours watched",
    hours.hours === null || hours.hours === undefined ? "–" : `${hours.complete ? "" : "≥ "}${formatNumber(hours.hours)}`,
    hoursNote));
  tiles.push(statTile("Rewatches",
    typeof analytics.rewatch_share === "number" ? `${formatNumber(analytics.rewatch_share * 100, 0)}%` : "–",
    `${plural(counts.rewatched || 0, "film")} seen more than once`));
  tiles.push(statTile("Contrarian score",
    typeof contrarian.score === "number" ? `${contrarian.score.toFixed(1)} / 10` : "–",
    contrarian.films_compared
      ? `Average gap from other viewers, over ${plural(contrarian.films_compared, "film")}`
      : "Needs rated films that others have rated too"));
  return h("dl", { class: "stat-list" }, tiles);
}

function chartCard(heading, chart, note, wide = false) {
  const classes = ["chart-card", wide ? "chart-card-wide" : "", chart ? "" : "is-empty"].filter(Boolean).join(" ");
  return h("figure", { class: classes },
    h("figcaption", { class: "chart-heading" }, heading),
    chart || h("p", { class: "chart-empty" }, note || "Not enough data yet."),
    chart && note ? h("p", { class: "chart-note" }, note) : null);
}

function ratingChart(analytics) {
  const items = (analytics.rating_distribution || []).map((bar) => ({
    label: starsLabel(bar.rating), value: bar.count, valueLabel: formatNumber(bar.count),
  }));
  const total = items.reduce((sum, item) => sum + item.value, 0);
  if (!total) return chartCard("Ratings", null, "No rated films yet.");
  const top = (analytics.rating_distribution || []).reduce((a, b) => (b.count > a.count ? b : a));
  return chartCard("Ratings", columnChart({
    title: "How you rate",
    description: `${plural(total, "rated film")}. The most common rating is ${top.rating} stars (${plural(top.count, "film")}).`,
    items: items.map((item, index) => ({ ...item, highlight: analytics.rating_distribution[index] === top })),
    className: "chart-ratings",
    labelEvery: 1,
  }), "Stars, from ½ to 5");
}

function decadeChart(analytics) {
  const decades = analytics.decades || [];
  if (!decades.length) return chartCard("Films by decade", null, "No release years known.");
  const top = decades.reduce((a, b) => (b.count > a.count ? b : a));
  return chartCard("Films by decade", columnChart({
    title: "Films you watched, by release decade",
    description: `From the ${decades[0].label} to the ${decades[decades.length - 1].label}; most from the ${top.label} (${plural(top.count, "film")}).`,
    items: decades.map((d) => ({
      label: d.label, value: d.count, highlight: d === top,
    })),
    className: "chart-decades",
  }));
}

function monthChart(analytics, width) {
  const months = (analytics.months || []).slice(-RECENT_MONTHS);
  if (!months.length) {
    return chartCard("Films logged per month", null, "No diary dates: upload an export that includes diary.csv to see this.", true);
  }
  const total = months.reduce((sum, m) => sum + m.count, 0);
  const items = months.map((m) => {
    const [year, month] = m.month.split("-");
    return { label: `${MONTH_NAMES[Number(month) - 1]} ’${year.slice(2)}`, value: m.count };
  });
  return chartCard("Films logged per month", columnChart({
    title: "Diary entries per month",
    description: `${plural(total, "diary entry", "diary entries")} from ${items[0].label} to ${items[items.length - 1].label}.`,
    items,
    className: "chart-months",
    width,
  }), months.length < (analytics.months || []).length ? `The last ${RECENT_MONTHS} months` : null, true);
}

function rankedChart(heading, title, rows, byRating, emptyNote) {
  const top = (rows || []).slice(0, TOP_ROWS);
  if (!top.length) return chartCard(heading, null, emptyNote);
  const items = top.map((row) => ({
    label: row.name,
    value: byRating ? row.mean_rating || 0 : row.count,
    valueLabel: byRating ? `${(row.mean_rating || 0).toFixed(1)} ★` : formatNumber(row.count),
  }));
  const first = top[0];
  const summary = byRating
    ? `Highest average: ${first.name}, ${first.mean_rating} stars over ${plural(first.rated, "rated film")}.`
    : `Most watched: ${first.name}, ${plural(first.count, "film")}.`;
  return chartCard(heading, barChart({
    title, description: summary, items, className: byRating ? "chart-by-rating" : "", max: byRating ? STAR_SCALE : null,
  }));
}

function contrarianList(analytics) {
  const contrarian = analytics.contrarian || {};
  const films = contrarian.most_different || [];
  if (!films.length) return null;
  const items = films.map((film) => {
    const higher = film.difference > 0;
    const title = Number.isInteger(film.year) ? `${film.title} (${film.year})` : film.title;
    return h("li", { class: higher ? "diff diff-higher" : "diff diff-lower" },
      h("span", { class: "diff-title" }, title),
      h("span", { class: "diff-detail" },
        `You: ${starsLabel(film.rating)} ★ (${formatNumber(film.rating_10, 1)}/10) · others: ${formatNumber(film.corpus_mean, 1)}/10`),
      h("span", { class: "diff-gap" }, `${higher ? "+" : "−"}${Math.abs(film.difference).toFixed(1)}`));
  });
  return h("div", { class: "contrarian-card" },
    h("h3", {}, "Where you differ most from other viewers"),
    h("ol", { class: "diff-list" }, items));
}

/** Fill the analytics section; hide it when the payload has no analytics. */
export function renderAnalytics(section, analytics) {
  if (!analytics || !analytics.counts) {
    section.hidden = true;
    return;
  }
  const statsBox = section.querySelector("#stats");
  const charts = section.querySelector("#charts");
  const contrarian = section.querySelector("#contrarian");
  clear(statsBox);
  clear(charts);
  clear(contrarian);
  section.hidden = false;
  statsBox.appendChild(stats(analytics));
  // The timeline gets a viewBox as wide as its box, so its labels keep their size on any screen.
  const monthWidth = Math.round(Math.min(MONTH_CHART_MAX_WIDTH,
    Math.max(MONTH_CHART_MIN_WIDTH, charts.clientWidth - CHART_CARD_PADDING)));
  const genres = analytics.genres || {};
  const directors = analytics.directors || {};
  const cards = [
    ratingChart(analytics),
    decadeChart(analytics),
    rankedChart("Top genres", "Genres you watch most", genres.by_count, false, "Genres are not known for your films."),
    rankedChart("Best-rated genres", "Genres you rate highest", genres.by_rating, true, "Rate at least two films in a genre to see this."),
  ];
  if ((directors.by_count || []).length) {
    cards.push(
      rankedChart("Top directors", "Directors you watch most", directors.by_count, false, ""),
      rankedChart("Best-rated directors", "Directors you rate highest", directors.by_rating, true, "Rate two films by a director to see this."));
  } else {
    cards.push(chartCard("Directors", null, "Directors come from TMDB and are not known for your films yet."));
  }
  // Charts with something to draw come first; the diary timeline spans the full width last.
  cards.sort((a, b) => Number(a.classList.contains("is-empty")) - Number(b.classList.contains("is-empty")));
  charts.append(...cards, monthChart(analytics, monthWidth));
  const list = contrarianList(analytics);
  if (list) contrarian.appendChild(list);
}
