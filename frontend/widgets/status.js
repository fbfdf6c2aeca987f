// Status chips: the same markup as templates/partials/status.html (colour, symbol and word
// all come from the stylesheet's `.chip[data-status]` rules).
import { h } from "./dom.js";

export const ENDED = ["success", "failed", "canceled"];

/** A chip for `status`. */
export function statusChip(status) {
  const word = status || "pending";
  return h("span", { class: "chip", dataset: { status: word } }, word);
}

/** Make `chip` (an element made by statusChip or the template) show `status`. */
export function setStatus(chip, status) {
  chip.dataset.status = status;
  chip.textContent = status;
}

/** A run's step counts as small chips (templates/partials/step_counts.html). */
export function stepCounts(counts) {
  const order = ["failed", "suspended", "running", "waiting", "paused", "success", "canceled", "skipped"];
  const known = order.filter((s) => counts && counts[s]);
  const other = Object.keys(counts || {}).filter((s) => !order.includes(s) && counts[s]).sort();
  const wrap = h("span", { class: "counts" });
  for (const status of [...known, ...other]) {
    wrap.append(
      h("span", { class: "chip", dataset: { status }, title: `${counts[status]} ${status}` },
        String(counts[status]), h("span", { class: "visually-hidden" }, ` ${status}`)),
    );
  }
  if (!wrap.childElementCount) wrap.append(h("span", { class: "muted" }, "—"));
  return wrap;
}
