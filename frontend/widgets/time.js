// Moments in the reader's time zone (the exact UTC time on hover) and human durations.
// The server renders `<time datetime="…Z" data-moment>… UTC</time>` (templatetags `moment`);
// showLocalTimes() rewrites the text, leaves the UTC time in the title.

const localFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});

/** A Date from an ISO string, seconds since the epoch, or a Date; null for nothing. */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  if (value instanceof Date) return value;
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "2024-05-01 12:00:03.250 UTC": the exact moment, for titles. */
export function exactUtc(value) {
  const date = toDate(value);
  return date ? date.toISOString().replace("T", " ").replace("Z", " UTC") : "";
}

/** The moment in the reader's time zone, as shown on the page. */
export function formatLocal(value) {
  const date = toDate(value);
  return date ? localFormat.format(date) : "—";
}

/** A `<time>` element showing `value` locally, exact UTC on hover (what `moment` renders). */
export function momentElement(value) {
  const date = toDate(value);
  if (!date) {
    const none = document.createElement("span");
    none.className = "muted";
    none.textContent = "—";
    return none;
  }
  const time = document.createElement("time");
  time.dateTime = date.toISOString();
  time.dataset.moment = "";
  localize(time);
  return time;
}

function localize(time) {
  const date = toDate(time.dateTime);
  if (!date) return;
  time.textContent = formatLocal(date);
  time.title = `${exactUtc(date)} (your time: ${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
  time.dataset.localized = "";
}

/** Show every server-rendered moment under `root` in local time. */
export function showLocalTimes(root = document) {
  for (const time of root.querySelectorAll("time[data-moment]:not([data-localized])")) {
    localize(time);
  }
}

/** Seconds as a person reads them; the same rules as the `duration` template filter. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "—";
  const value = Number(seconds);
  if (value < 1) return `${Math.round(value * 1000)} ms`;
  if (value < 60) return `${value.toFixed(1)} s`;
  const whole = Math.floor(value);
  const minutes = Math.floor(whole / 60);
  const secs = whole % 60;
  if (minutes < 60) return secs ? `${minutes} min ${secs} s` : `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const mins = minutes % 60;
  if (hours < 24) return mins ? `${hours} h ${mins} min` : `${hours} h`;
  const days = Math.floor(hours / 24);
  const hrs = hours % 24;
  return hrs ? `${days} d ${hrs} h` : `${days} d`;
}

/** Seconds between two moments (to now when `end` is missing); null without a start. */
export function secondsBetween(start, end) {
  const from = toDate(start);
  if (!from) return null;
  const to = toDate(end) || new Date();
  return Math.max((to.getTime() - from.getTime()) / 1000, 0);
}
