// The landing page's "rank a list" panel: pasted titles, a list URL, "watchlist", or a list export CSV.

const text = () => document.getElementById("from-list");
const file = () => document.getElementById("list-file");

/** Wire the panel's buttons. */
export function initListInput() {
  document.getElementById("use-watchlist").addEventListener("click", () => {
    text().value = "watchlist";
    text().focus();
  });
}

/** The list to rank, as the API's from_list text, or null when none was given. */
export async function listValue() {
  const chosen = file().files && file().files[0];
  if (chosen) return await chosen.text();
  const value = text().value.trim();
  return value || null;
}
