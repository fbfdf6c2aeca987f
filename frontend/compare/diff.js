// Field-level differences between two JSON values, in the form the server's compare answers
// (`workflows_app/compare.py: json_diff`): one `{path, kind, a, b}` per leaf that differs,
// objects key by key, lists index by index; and the list that shows them.
//
//   diffList(jsonDiff(recorded, edited))  // <ul class="diff-list"> or a "no change" note
import { h } from "../widgets/dom.js";

const MISSING = Symbol("missing");

function join(path, part) {
  return path ? `${path}.${part}` : String(part);
}

function sameScalar(a, b) {
  return typeof a === typeof b && a === b;
}

function walk(a, b, path, out) {
  if (a === MISSING) out.push({ path, kind: "added", a: null, b });
  else if (b === MISSING) out.push({ path, kind: "removed", a, b: null });
  else if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
      walk(i < a.length ? a[i] : MISSING, i < b.length ? b[i] : MISSING, join(path, i), out);
    }
  } else if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...Object.keys(a), ...Object.keys(b).filter((k) => !(k in a))];
    for (const key of keys) walk(key in a ? a[key] : MISSING, key in b ? b[key] : MISSING, join(path, key), out);
  } else if (!sameScalar(a, b)) {
    out.push({ path, kind: "changed", a, b });
  }
}

/** The differences from `a` to `b`. */
export function jsonDiff(a, b) {
  const out = [];
  walk(a === undefined ? null : a, b === undefined ? null : b, "", out);
  return out;
}

function short(value) {
  const text = JSON.stringify(value);
  return text === undefined ? "undefined" : text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

/** One difference as a list item: `path: old → new` (added and removed said as such). */
export function diffItem(diff, { before = "recorded", after = "now" } = {}) {
  const path = h("code", { class: "diff-path" }, diff.path || "(the whole value)");
  const a = h("del", { class: "diff-a", title: before }, short(diff.a));
  const b = h("ins", { class: "diff-b", title: after }, short(diff.b));
  if (diff.kind === "added") return h("li", { dataset: { kind: "added" } }, path, " added: ", b);
  if (diff.kind === "removed") return h("li", { dataset: { kind: "removed" } }, path, " removed (was ", a, ")");
  return h("li", { dataset: { kind: "changed" } }, path, ": ", a, " → ", b);
}

/** The differences as a list, or `empty` as a note when there are none. */
export function diffList(diffs, { empty = "No change.", ...labels } = {}) {
  if (!diffs.length) return h("p", { class: "muted diff-none" }, empty);
  return h("ul", { class: "diff-list" }, diffs.map((diff) => diffItem(diff, labels)));
}
