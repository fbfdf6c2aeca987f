// The run's event log: every event, oldest first, filterable by step and type. Only the rows
// in view are in the DOM and only the pages in view are read from the events API, so a run of
// tens of thousands of events opens as fast as a short one. It follows the newest event until
// the reader scrolls up. A filter reads the whole log (saying how far it got).
//
//   const log = new EventLog(element, store, { form, count, onSelect });
//   log.update();            // after store.append(liveEvents)
import { h } from "../widgets/dom.js";
import { jsonView } from "../widgets/json-view.js";
import { exactUtc } from "../widgets/time.js";

const ROW = 24; // px, as in the stylesheet's .ev-row
const OVERSCAN = 8;
const clock = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3, hour12: false,
});
const TONE = {
  "run.succeeded": "success", "step.succeeded": "success", "run.failed": "failed",
  "step.failed": "failed", "step.retrying": "failed", "run.canceled": "canceled",
  "step.canceled": "canceled", "run.suspended": "suspended", "step.suspended": "suspended",
  "step.waiting": "waiting", "run.paused": "paused", "step.resumed": "running",
  "step.started": "running", "run.started": "running", "step.progress": "pending",
};

function preview(value, room = 140) {
  if (value === undefined) return "";
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > room ? `${text.slice(0, room)}…` : text;
}

function errorText(error) {
  return error ? `${error.type || "Error"}: ${error.message || ""}` : "";
}

/** One line about an event's payload. */
export function summary(event) {
  const p = event.payload || {};
  switch (event.type) {
    case "run.started": return `${p.mode || "start"} · input ${preview(p.input, 90)}`;
    case "run.succeeded": return `result ${preview(p.result)}`;
    case "run.failed": case "step.failed": return errorText(p.error);
    case "step.retrying": return `attempt ${p.attempt} after ${errorText(p.error)}`;
    case "step.started": return `${p.iteration ? `iteration ${p.iteration} · ` : ""}input ${preview(p.input, 100)}`;
    case "step.succeeded": return `output ${preview(p.output)}`;
    case "step.suspended": return `${(p.labels || []).length ? `[${p.labels.join(", ")}] ` : ""}asks ${preview(p.suspend_payload, 110)}`;
    case "step.resumed": return `answer ${preview(p.resume_payload)}`;
    case "step.waiting": return p.wake_at ? `until ${clock.format(new Date(p.wake_at * 1000))}` : "";
    case "step.progress":
      if (p.kind === "foreach") {
        return `${p.completed_count}/${p.total_count} · item ${p.current_index} ${p.iteration_status}`;
      }
      return preview(p.data);
    default: return preview(p);
  }
}

function matches(event, step, type) {
  if (type && event.type !== type) return false;
  if (!step) return true;
  const key = (event.path || []).join(".");
  return key === step || key.startsWith(`${step}.`) || key.startsWith(`${step}[`);
}

export class EventLog {
  constructor(element, store, { form, count, onSelect }) {
    this.element = element;
    this.store = store;
    this.form = form;
    this.count = count;
    this.onSelect = onSelect;
    this.follow = true;
    this.filter = { step: "", type: "" };
    this.matched = null; // seqs matching the filter (null: no filter)
    this.scanned = 0;
    this.selectedSeq = null;
    this.scheduled = false;
    element.replaceChildren();
    this.spacer = h("div", { class: "ev-spacer" });
    this.list = h("div", { class: "ev-list", tabindex: "0", role: "list", "aria-label": "Events" }, this.spacer);
    this.note = h("p", { class: "ev-note muted", role: "status" });
    this.detail = h("div", { class: "ev-detail", hidden: true });
    element.append(this.list, this.note, this.detail);
    // The scroll position and height are read when they change and kept, so drawing reads no
    // layout (see timeline.js).
    this.view = { top: 0, height: 300 }; // until the observer below measures it
    this.list.addEventListener("scroll", () => {
      const top = this.list.scrollTop;
      if (top === this.view.top) return; // scrolled by the log itself to follow the end
      this.view.top = top;
      this.follow = this.length * ROW - this.view.height - top < ROW;
      this._render();
    });
    this.list.addEventListener("click", (event) => {
      const row = event.target.closest(".ev-row[data-seq]");
      if (row) this.choose(Number(row.dataset.seq));
    });
    this.list.addEventListener("keydown", (event) => this._key(event));
    new ResizeObserver(() => {
      this.view.height = this.list.clientHeight;
      this._render();
    }).observe(this.list);
    if (form) {
      let timer = null;
      const changed = () => {
        clearTimeout(timer);
        timer = setTimeout(() => this.setFilter({
          step: form.elements.step.value.trim(), type: form.elements.type.value,
        }), 150);
      };
      form.addEventListener("input", changed);
      form.addEventListener("change", changed);
      form.addEventListener("submit", (event) => event.preventDefault());
    }
    this.problem = null; // why events are missing, when reading them failed
    store.onLoad(() => {
      this.problem = null;
      if (this.matched) this._scan();
      this.update();
    });
    this.update();
    this._ensureVisible();
  }

  /** Filter by step (a key or the start of one) and type; "" for any. */
  setFilter({ step, type }) {
    this.filter = { step, type };
    const active = Boolean(step || type);
    this.matched = active ? [] : null;
    this.scanned = 0;
    this.follow = true;
    if (active) {
      this._scan();
      if (!this.store.complete) {
        this.store.loadAll(() => this.update()).catch(() => {
          this.problem = "Some events could not be read, so the list is incomplete: choose the filter again to retry.";
          this.update();
        });
      }
    }
    this.update();
  }

  _scan() {
    // Rebuilt in seq order from what is here: pages arrive in any order.
    const { step, type } = this.filter;
    const found = [];
    for (let seq = 1; seq <= this.store.total; seq += 1) {
      const event = this.store.get(seq);
      if (event && matches(event, step, type)) found.push(seq);
    }
    this.matched = found;
    this.scanned = this.store.total;
  }

  /** Take in live events (after store.append); redraws once per frame, or at once with
   * `now` (the caller already runs in an animation frame: waiting for the next one would
   * show each event a frame late). */
  update(now = false) {
    if (this.matched) {
      const { step, type } = this.filter;
      for (let seq = this.scanned + 1; seq <= this.store.total; seq += 1) {
        const event = this.store.get(seq);
        if (event && matches(event, step, type)) this.matched.push(seq);
      }
      this.scanned = Math.max(this.scanned, this.store.total);
    }
    if (now) {
      this._render();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this._render();
    });
  }

  get length() {
    return this.matched ? this.matched.length : this.store.total;
  }

  _seqAt(index) {
    return this.matched ? this.matched[index] : index + 1;
  }

  _ensureVisible() {
    const top = this.follow ? Math.max(this.length * ROW - this.view.height, 0) : this.view.top;
    const first = Math.floor(top / ROW);
    const last = first + Math.ceil(this.view.height / ROW) + 1;
    if (this.matched) return;
    const wanted = [];
    for (let i = Math.max(first - OVERSCAN, 0); i < Math.min(last + OVERSCAN, this.length); i += 1) {
      const seq = this._seqAt(i);
      if (!this.store.get(seq)) wanted.push(seq);
    }
    if (wanted.length) {
      this.store.ensure(wanted[0], wanted[wanted.length - 1]).catch(() => {
        this.problem = "The events could not be read: check the connection and scroll again.";
        this.update();
      });
    }
  }

  _render() {
    const total = this.length;
    const height = this.view.height;
    const top = this.follow ? Math.max(total * ROW - height, 0) : Math.min(this.view.top, Math.max(total * ROW - height, 0));
    const from = Math.max(Math.floor(top / ROW) - OVERSCAN, 0);
    const to = Math.min(Math.ceil((top + height) / ROW) + OVERSCAN, total);
    const fragment = document.createDocumentFragment();
    let missing = false;
    for (let i = from; i < to; i += 1) {
      const seq = this._seqAt(i);
      const event = this.store.get(seq);
      if (!event) {
        missing = true;
        fragment.append(h("div", { class: "ev-row loading", style: `top:${i * ROW}px` }, h("span", { class: "ev-seq" }, `#${seq}`), " loading…"));
        continue;
      }
      const key = (event.path || []).join(".");
      fragment.append(h("div", {
        class: `ev-row${seq === this.selectedSeq ? " selected" : ""}${this.at ? (seq === this.at ? " ev-at" : seq > this.at ? " ev-after" : "") : ""}`,
        role: "listitem",
        dataset: { seq, type: event.type },
        style: `top:${i * ROW}px`,
        title: `#${seq} ${event.type} ${key} · ${exactUtc(event.ts)}`,
      },
      h("span", { class: "ev-seq" }, `#${seq}`),
      h("time", { class: "ev-time", datetime: new Date(event.ts * 1000).toISOString() }, clock.format(new Date(event.ts * 1000))),
      h("span", { class: "ev-type", dataset: { tone: TONE[event.type] || "pending" } }, event.type),
      h("span", { class: "ev-path mono" }, key || "run"),
      h("span", { class: "ev-summary" }, summary(event))));
    }
    this.spacer.style.height = `${total * ROW}px`;
    this.spacer.replaceChildren(fragment);
    if (top !== this.view.top) {
      this.view.top = top;
      this.list.scrollTop = top;
    }
    if (missing) this._ensureVisible();
    this._count();
  }

  _count() {
    const total = this.store.total;
    if (this.count) {
      this.count.textContent = this.matched
        ? `(${this.matched.length.toLocaleString()} of ${total.toLocaleString()})`
        : `(${total.toLocaleString()})`;
    }
    let note = "";
    if (this.problem) note = this.problem;
    else if (this.matched && !this.store.complete) {
      note = `Filtering… ${this.store.count.toLocaleString()} of ${total.toLocaleString()} events read.`;
    } else if (this.matched && !this.matched.length) {
      note = "No event matches: change the step or the type (a step also matches the steps inside it).";
    } else if (!total) note = "No event yet: they appear here as the run goes.";
    if (this.note.textContent !== note) this.note.textContent = note;
  }

  /** Mark the scrubber's moment (null: now): its event, and the events after it dimmed. */
  moment(seq) {
    this.at = seq || null;
    if (this.at) {
      const index = this.matched ? this.matched.findIndex((s) => s >= this.at) : this.at - 1;
      if (index >= 0) {
        this.follow = false;
        this.view.top = Math.max(index * ROW - this.view.height / 2, 0);
        this.list.scrollTop = this.view.top;
      }
    } else {
      this.follow = true; // back at now: the newest events again
    }
    this._render();
  }

  /** Show one event's whole payload, and its step everywhere on the page. */
  choose(seq) {
    const event = this.store.get(seq);
    if (!event) return;
    this.selectedSeq = seq;
    const key = (event.path || []).join(".");
    this.detail.hidden = false;
    const close = h("button", { type: "button", class: "btn btn-small", title: "Close the event" }, "×");
    close.addEventListener("click", () => {
      this.detail.hidden = true;
      this.selectedSeq = null;
      this._render();
    });
    this.detail.replaceChildren(
      h("div", { class: "ev-detail-head" }, h("strong", {}, `#${seq} ${event.type}`), " ", h("code", {}, key || "run"), close),
      jsonView(event.payload, { label: "Payload", collapsedDepth: 1 }),
    );
    this._render();
    if (key) this.onSelect(key, "events");
  }

  _key(event) {
    if (!["ArrowDown", "ArrowUp", "Enter"].includes(event.key) || !this.length) return;
    event.preventDefault();
    let index = this.selectedSeq === null ? -1 : (this.matched ? this.matched.indexOf(this.selectedSeq) : this.selectedSeq - 1);
    if (event.key === "ArrowDown") index = Math.min(index + 1, this.length - 1);
    else if (event.key === "ArrowUp") index = Math.max(index - 1, 0);
    const seq = this._seqAt(Math.max(index, 0));
    this.follow = false;
    const top = index * ROW;
    if (top < this.view.top || top + ROW > this.view.top + this.view.height) {
      this.view.top = Math.max(top - this.view.height / 2, 0);
      this.list.scrollTop = this.view.top;
    }
    this.choose(seq);
  }
}
