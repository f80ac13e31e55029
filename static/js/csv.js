// Export picks as a CSV that Letterboxd's list importer reads (letterboxd.com/list/new/, Import).

const COLUMNS = ["Title", "Year", "tmdbID", "imdbID", "LetterboxdURI"];

/** Quote a field when it holds a comma, quote or line break (RFC 4180), doubling inner quotes. */
export function csvField(value) {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A title a spreadsheet would read as a formula (=, +, -, @, tab, CR first) gets a leading apostrophe. */
export function plainText(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function isFilmUri(url) {
  return typeof url === "string" && /^https:\/\/(letterboxd\.com\/film\/|boxd\.it\/)/.test(url);
}

export function toLetterboxdCsv(films) {
  const lines = [COLUMNS.join(",")];
  for (const film of films) {
    lines.push([
      plainText(film.title),
      Number.isInteger(film.year) ? film.year : "",
      film.tmdb_id || "",
      film.imdb_id || "",
      isFilmUri(film.letterboxd_url) ? film.letterboxd_url : "",
    ].map(csvField).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function csvFilename(username) {
  const who = username ? `-${username}` : "";
  const day = new Date().toISOString().slice(0, 10);
  return `recommendations${who}-${day}.csv`;
}

export function downloadText(text, filename, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
