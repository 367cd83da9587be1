// Dates and sizes as the console shows them: instants always in UTC, as the
// API's expiry rules are (a key dies at 00:00 UTC).

const pad = (n) => String(n).padStart(2, '0');

/** `2030-02-01T00:00:00Z` → `2030-02-01 00:00 UTC`; empty for none. */
export function utc(instant) {
  if (!instant) return '';
  const d = new Date(instant);
  if (Number.isNaN(d.getTime())) return String(instant);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}

/** The day after a `YYYY-MM-DD` date, as `YYYY-MM-DD` (UTC calendar). */
export function dayAfter(date) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || '');
  if (!m) return '';
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + 1));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Today's date in UTC, `YYYY-MM-DD`. */
export function todayUtc() {
  const d = new Date();
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** The sentence under an expiration date: when exactly the key stops. */
export function expirySentence(date) {
  if (!date) return 'No date: the key never expires.';
  const next = dayAfter(date);
  if (!next) return 'Use the form YYYY-MM-DD.';
  return `Works through ${date} and expires at 00:00 UTC on ${next} (the next day).`;
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** A person's name from first and last, or a fallback. */
export function person(first, last, fallback = '') {
  const name = `${first || ''} ${last || ''}`.trim();
  return name || fallback;
}
