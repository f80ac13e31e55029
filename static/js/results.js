// Results page: follow a run live, then show the picks, filters, exports and analytics.
import { hideAlert, initThemeToggle, markReady } from "./common.js";
import { buildToolbar, initFiltersToggle } from "./results-filters.js";
import { renderHeading } from "./results-heading.js";
import { renderCards } from "./results-picks.js";
import { renderSteps } from "./results-progress.js";
import { start } from "./results-run.js";
import { copyLink, exportCsv } from "./results-share.js";
import { $, run, ui } from "./results-state.js";

function init() {
  initThemeToggle($("theme-toggle"));
  buildToolbar();
  initFiltersToggle();
  ui.exportCsv.addEventListener("click", exportCsv);
  ui.copyLink.addEventListener("click", copyLink);
  ui.streamingField.hidden = !run.include_streaming;
  renderHeading();
  renderSteps();
  renderCards();
  start();
  markReady();
}

hideAlert(ui.alert);
init();
