// Results page: the progress steps, bar and log of a running run.
import { clear, formatNumber, h } from "./common.js";
import {
  FINAL_STEPS, MAX_LOG_LINES, STEPS, STEP_ALIASES, STEP_LABELS, WAITING_STEPS, run, state, ui,
} from "./results-state.js";

export function renderSteps() {
  clear(ui.steps);
  for (const [key, label] of STEPS) {
    if (key === "streaming" && !run.include_streaming) continue;
    ui.steps.appendChild(h("li", { class: "step", dataset: { step: key } }, label));
  }
}

export function markStep(step) {
  const keys = STEPS.map(([key]) => key);
  const index = step === "__after__" ? keys.length : keys.indexOf(step);
  for (const node of ui.steps.children) {
    const at = keys.indexOf(node.dataset.step);
    node.classList.toggle("is-done", state.finished || (index >= 0 && at < index));
    node.classList.toggle("is-current", !state.finished && at === index);
    if (!state.finished && at === index) node.setAttribute("aria-current", "step");
    else node.removeAttribute("aria-current");
  }
}

export function setMessage(text) {
  ui.message.textContent = text;
}

export function setProgress(value, message) {
  if (typeof value === "number" && Number.isFinite(value)) {
    const clamped = Math.max(0, Math.min(1, value));
    ui.progress.value = clamped;
    ui.percent.textContent = `${Math.round(clamped * 100)}%`;
  } else {
    ui.progress.removeAttribute("value");
    ui.percent.textContent = "";
  }
  if (message) setMessage(message);
}

export function activeSteps() {
  return STEPS.filter(([key]) => key !== "streaming" || run.include_streaming).map(([key]) => key);
}

/** Overall progress: each step takes an equal share, filled by the step's own progress. */
export function overallProgress(step, progress) {
  if (FINAL_STEPS.has(step)) return 1;
  if (WAITING_STEPS.has(step)) return 0;
  const steps = activeSteps();
  const index = steps.indexOf(step);
  const within = typeof progress === "number" && Number.isFinite(progress) ? Math.max(0, Math.min(1, progress)) : 0;
  if (index < 0) return typeof progress === "number" ? within : null;
  const overall = (index + within) / steps.length;
  // Never let the bar move backwards when a step reports out of order.
  state.maxProgress = Math.max(state.maxProgress, overall);
  return state.maxProgress;
}

export function onStatus(data) {
  if (state.finished) return;
  const step = STEP_ALIASES[data.step] || data.step;
  const message = data.message || stepLabel(step) || "Working…";
  setProgress(overallProgress(step, data.progress), message);
  if (step && step !== state.currentStep) {
    state.currentStep = step;
    markStep(FINAL_STEPS.has(step) ? "__after__" : step);
    if (!WAITING_STEPS.has(step)) ui.live.textContent = `${stepLabel(step)}: ${message}`;
  }
}

export function stepLabel(step) {
  return STEP_LABELS.get(step) || step;
}

export function addLog(data) {
  state.logCount += 1;
  const when = data.ts ? new Date(data.ts) : null;
  const time = when && !Number.isNaN(when.getTime())
    ? when.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "";
  const level = ["info", "warning", "error"].includes(data.level) ? data.level : "info";
  ui.logLines.appendChild(h("li", { class: `log-line log-${level}` },
    time ? h("time", { datetime: data.ts }, time) : null,
    level !== "info" ? h("span", { class: "log-level" }, level) : null,
    h("span", { class: "log-message" }, data.message || "")));
  while (ui.logLines.children.length > MAX_LOG_LINES) ui.logLines.firstElementChild.remove();
  ui.logCount.textContent = `(${formatNumber(state.logCount)})`;
  if (ui.log.open) ui.logLines.lastElementChild.scrollIntoView({ block: "nearest" });
}
