// The server's lists: countries, moods, genres, progress steps, the username rule and groups of error codes.
// Read once from /api/meta (the browser caches it); the pages keep no copies of their own.

async function loadMeta() {
  try {
    const response = await fetch("/api/meta", { headers: { Accept: "application/json" } });
    if (response.ok) return await response.json();
  } catch (err) {
    // Unreachable server: the forms stay empty and the server's own checks still apply.
  }
  return {
    countries: [], moods: [], genres: [], steps: [], username: { pattern: "^\\S+$", max_length: 0, rule: "" },
    errors: { busy: [], source_unavailable: [], expired: [], nothing_to_rank: [] },
  };
}

export const META = await loadMeta();
