// Small inline SVG charts drawn with DOM APIs; every chart names itself with <title> and <desc>.

const SVG_NS = "http://www.w3.org/2000/svg";
const COLUMN_WIDTH = 340;
const COLUMN_HEIGHT = 190;
const COLUMN_PLOT_TOP = 22;
const COLUMN_PLOT_BOTTOM = 160;
const COLUMN_LABEL_SPACE = 50;
const COLUMN_MAX_SLOT = 64;
const BAR_ROW_HEIGHT = 26;
const BAR_LABEL_WIDTH = 128;
const BAR_VALUE_WIDTH = 48;
const BAR_NAME_MAX_CHARS = 18;

let chartCounter = 0;

export function svgEl(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child) node.appendChild(child);
  }
  return node;
}

function chartFrame(title, description, width, height, className) {
  chartCounter += 1;
  const titleId = `chart-${chartCounter}-title`;
  const descId = `chart-${chartCounter}-desc`;
  const svg = svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-labelledby": `${titleId} ${descId}`,
    class: `chart ${className}`,
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.appendChild(svgEl("title", { id: titleId, text: title }));
  svg.appendChild(svgEl("desc", { id: descId, text: description }));
  return svg;
}

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Vertical bars, one per item: {label, value, valueLabel?, highlight?}.
 * Category labels are thinned out when there are too many to read.
 */
export function columnChart({ title, description, items, className = "", labelEvery = 0, width = COLUMN_WIDTH }) {
  const svg = chartFrame(title, description, width, COLUMN_HEIGHT, `chart-columns ${className}`);
  const count = Math.max(items.length, 1);
  const slot = Math.min(width / count, COLUMN_MAX_SLOT);
  // With few bars, keep them slim and centred rather than stretched across the chart.
  const left = (width - slot * count) / 2;
  const gap = Math.min(6, slot * 0.2);
  const max = Math.max(1, ...items.map((item) => item.value));
  const plotHeight = COLUMN_PLOT_BOTTOM - COLUMN_PLOT_TOP;
  const step = labelEvery || Math.max(1, Math.ceil(count / Math.floor(width / COLUMN_LABEL_SPACE)));
  const showValues = slot >= 18;
  svg.appendChild(svgEl("line", {
    x1: 0, x2: width, y1: COLUMN_PLOT_BOTTOM + 0.5, y2: COLUMN_PLOT_BOTTOM + 0.5, class: "chart-axis",
  }));
  items.forEach((item, index) => {
    const height = item.value > 0 ? Math.max(2, (item.value / max) * plotHeight) : 0;
    const x = left + index * slot + gap / 2;
    const width = Math.max(1, slot - gap);
    const group = svgEl("g", { class: item.highlight ? "chart-item is-highlight" : "chart-item" });
    const bar = svgEl("rect", {
      x: x.toFixed(2), y: (COLUMN_PLOT_BOTTOM - height).toFixed(2), width: width.toFixed(2),
      height: height.toFixed(2), rx: Math.min(3, width / 4).toFixed(2), class: "chart-bar",
    });
    bar.appendChild(svgEl("title", { text: `${item.label}: ${item.valueLabel ?? item.value}` }));
    group.appendChild(bar);
    if (showValues && item.value > 0) {
      group.appendChild(svgEl("text", {
        x: (x + width / 2).toFixed(2), y: (COLUMN_PLOT_BOTTOM - height - 5).toFixed(2),
        class: "chart-value", "text-anchor": "middle", text: item.valueLabel ?? String(item.value),
      }));
    }
    if (index % step === 0) {
      group.appendChild(svgEl("text", {
        x: (x + width / 2).toFixed(2), y: COLUMN_PLOT_BOTTOM + 18,
        class: "chart-label", "text-anchor": "middle", text: item.label,
      }));
    }
    svg.appendChild(group);
  });
  return svg;
}

/**
 * Horizontal bars with the name on the left and the value on the right: {label, value, valueLabel?}.
 * Bars are scaled to `max` when given (a fixed scale such as 5 stars), else to the largest value.
 */
export function barChart({ title, description, items, className = "", max = null }) {
  const height = Math.max(1, items.length) * BAR_ROW_HEIGHT + 4;
  const svg = chartFrame(title, description, COLUMN_WIDTH, height, `chart-bars ${className}`);
  const scale = max || Math.max(1, ...items.map((item) => item.value));
  const track = COLUMN_WIDTH - BAR_LABEL_WIDTH - BAR_VALUE_WIDTH;
  items.forEach((item, index) => {
    const y = index * BAR_ROW_HEIGHT + 2;
    const width = item.value > 0 ? Math.max(2, Math.min(1, item.value / scale) * track) : 0;
    const group = svgEl("g", { class: "chart-item" });
    const name = svgEl("text", {
      x: BAR_LABEL_WIDTH - 8, y: y + BAR_ROW_HEIGHT / 2 + 4, class: "chart-label", "text-anchor": "end",
      text: truncate(item.label, BAR_NAME_MAX_CHARS),
    });
    if (item.label.length > BAR_NAME_MAX_CHARS) name.appendChild(svgEl("title", { text: item.label }));
    group.appendChild(name);
    group.appendChild(svgEl("rect", {
      x: BAR_LABEL_WIDTH, y: y + 4, width: track, height: BAR_ROW_HEIGHT - 8, rx: 3, class: "chart-track",
    }));
    const bar = svgEl("rect", {
      x: BAR_LABEL_WIDTH, y: y + 4, width: width.toFixed(2), height: BAR_ROW_HEIGHT - 8, rx: 3,
      class: "chart-bar",
    });
    bar.appendChild(svgEl("title", { text: `${item.label}: ${item.valueLabel ?? item.value}` }));
    group.appendChild(bar);
    group.appendChild(svgEl("text", {
      x: BAR_LABEL_WIDTH + track + 8, y: y + BAR_ROW_HEIGHT / 2 + 4, class: "chart-value",
      text: item.valueLabel ?? String(item.value),
    }));
    svg.appendChild(group);
  });
  return svg;
}

/** A ring showing a 0-100 score, used for the match on each card. */
export function scoreRing(score, label) {
  const radius = 15.915;
  const value = Math.max(0, Math.min(100, Math.round(score)));
  const svg = svgEl("svg", { viewBox: "0 0 36 36", class: "score-ring", role: "img", "aria-label": label });
  svg.appendChild(svgEl("circle", { cx: 18, cy: 18, r: radius, class: "score-ring-track" }));
  svg.appendChild(svgEl("circle", {
    cx: 18, cy: 18, r: radius, class: "score-ring-value",
    "stroke-dasharray": `${value} ${100 - value}`, "stroke-dashoffset": 25,
  }));
  svg.appendChild(svgEl("text", { x: 18, y: 22.5, "text-anchor": "middle", class: "score-ring-text", text: String(value) }));
  return svg;
}
