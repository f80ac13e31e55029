// Results page: the CSV export and the shared link.
import { apiError } from "./common.js";
import { csvFilename, downloadText, toLetterboxdCsv } from "./csv.js";
import { shareUrl } from "./links.js";
import { plural, visibleFilms } from "./results-picks.js";
import { formatDate } from "./results-run.js";
import { COPY_STATUS_MS, run, ui } from "./results-state.js";

export function exportCsv() {
  const films = visibleFilms();
  if (!films.length) return;
  downloadText(toLetterboxdCsv(films), csvFilename(run.username));
  flash(`Saved ${plural(films.length, "film")} as CSV. On Letterboxd, create a list and choose Import to add them.`);
}

/** The link to share: a member's page starts fresh picks; an export's picks are kept on the server for a while. */
export async function linkToShare() {
  if (run.share) return { url: window.location.href, note: "Link copied. It works until the date shown above." };
  if (run.username || !run.requestId) {
    return { url: shareUrl(window.location.origin, run), note: "Link copied. Anyone opening it gets fresh picks for this member." };
  }
  const response = await fetch("/api/share", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ request_id: run.requestId }),
  });
  if (!response.ok) throw await apiError(response);
  const kept = await response.json();
  return {
    url: `${window.location.origin}/results?share=${encodeURIComponent(kept.share_id)}`,
    note: `Link copied. It keeps these picks for ${kept.ttl_days} days.`,
    life: `Your shared link shows these picks until ${formatDate(kept.expires_at)} (${kept.ttl_days} days), without your export, profile or watchlist.`,
  };
}

export async function copyLink() {
  let link;
  try {
    link = await linkToShare();
  } catch (err) {
    flash(err.message || "Could not make a link right now.");
    return;
  }
  const url = link.url;
  ui.shareUrl.value = url;
  if (link.life) {
    ui.shareLife.textContent = link.life;
    ui.shareLife.hidden = false;
  }
  try {
    await navigator.clipboard.writeText(url);
    ui.shareFallback.hidden = true;
    flash(link.note);
  } catch (err) {
    ui.shareFallback.hidden = false;
    ui.shareUrl.focus();
    ui.shareUrl.select();
    flash(`Copy the link below. ${link.note.replace(/^Link copied\. /, "")}`);
  }
}

export let flashTimer = null;
export function flash(text) {
  ui.actionStatus.textContent = text;
  window.clearTimeout(flashTimer);
  flashTimer = window.setTimeout(() => { ui.actionStatus.textContent = ""; }, COPY_STATUS_MS);
}
