// The run's timeline: a Gantt chart with a row per step (and per foreach item) and a bar per
// attempt; retries are bars of their own, sleeps and waits for an answer are hatched, and a
// "now" line moves while the run is live. Only the rows in view are in the DOM, so a run of
// thousands of steps scrolls as lightly as one of ten.
//
//   const timeline = new Timeline(element, state, { onSelect });
//   timeline.update();        // after state.apply(): redraw (once per frame at most)
//   timeline.select(key);     // highlight a step's row and scroll to it
import { h } from "../widgets/dom.js";
import { exactUtc, formatDuration, formatLocal } from "../widgets/time.js";

const ROW = 22; // px, as in the stylesheet's .tl-row
const OVERSCAN = 6;
const NOW_EVERY_MS = 250;

function niceStep(seconds, count) {
  const raw = seconds / count;
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

// A tick's label, with as many decimals as the tick step needs (0.5 ms steps are not "1 ms").
function tickLabel(seconds, step) {
  if (seconds === 0) return "0";
  if (step < 0.01) return `+${(seconds * 1000).toFixed(step < 0.001 ? 2 : 1)} ms`;
  return `+${formatDuration(seconds)}`;
}

export class Timeline {
  constructor(element, state, { onSelect }) {
    this.element = element;
    this.state = state;
    this.onSelect = onSelect;
    this.selected = null;
    this.scheduled = false;
    element.replaceChildren();
    this.axis = h("div", { class: "tl-axis", "aria-hidden": "true" });
    this.spacer = h("div", { class: "tl-spacer" });
    this.now = h("div", { class: "tl-now", hidden: true, title: "now" });
    this.body = h("div", { class: "tl-body", tabindex: "0", "aria-label": "Timeline of the step attempts" }, this.spacer);
    this.empty = h("p", { class: "empty-note tl-empty", hidden: true },
      "No step has started yet: a bar appears here for each attempt as the run goes.");
    this.note = h("p", { class: "tl-note muted", hidden: true });
    element.append(this.axis, this.body, this.now, this.empty, this.note);
    // Sizes and the scroll position are read when they change (resize and scroll events) and
    // kept: a redraw reads no layout, so it never makes the browser lay out the page early.
    this.view = { top: 0, height: 200, width: 0, label: 0 };
    this.body.addEventListener("scroll", () => {
      const top = this.body.scrollTop;
      if (top === this.view.top) return; // the page scrolled it, and drew it already
      this.view.top = top;
      this._render();
    });
    this.body.addEventListener("click", (event) => {
      const row = event.target.closest(".tl-row");
      if (!row) return;
      const key = row.dataset.parent || row.dataset.key;
      this.select(key);
      this.onSelect(key, "timeline", row.dataset.parent ? "items" : null);
    });
    this.body.addEventListener("keydown", (event) => this._key(event));
    const probe = h("span", { class: "tl-label", style: "position:absolute;visibility:hidden;width:var(--tl-label)" });
    this.body.append(probe);
    // Observers are called after a layout, when reading sizes costs nothing more.
    new ResizeObserver(() => {
      this.view.height = this.body.clientHeight;
      this.view.width = this.body.clientWidth;
      this.view.label = probe.offsetWidth;
      this.axis.style.marginRight = `${this.body.offsetWidth - this.body.clientWidth}px`;
      this._render();
    }).observe(this.body);
    this._timer = setInterval(() => {
      if (this.state.live && document.visibilityState === "visible") this._render();
    }, NOW_EVERY_MS);
    this._render();
  }

  /** Redraw on the next frame (many events in a frame cost one redraw), or at once with `now`
   * (from within an animation frame). */
  update(now = false) {
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

  /** Highlight the rows of a record key (and scroll the first into view). */
  select(key) {
    this.selected = key;
    const rows = this.state.rows();
    const index = key ? rows.findIndex((row) => row.key === key) : -1;
    if (index >= 0) {
      const top = index * ROW;
      const view = this.view.height;
      if (top < this.view.top || top + ROW > this.view.top + view) {
        this.view.top = Math.max(top - view / 2, 0);
        this.body.scrollTop = this.view.top;
      }
    }
    this._render();
  }

  _key(event) {
    const rows = this.state.rows();
    if (!rows.length || !["ArrowDown", "ArrowUp"].includes(event.key)) return;
    event.preventDefault();
    const current = rows.findIndex((row) => row.key === this.selected);
    const next = Math.min(Math.max(current + (event.key === "ArrowDown" ? 1 : -1), 0), rows.length - 1);
    const row = rows[next];
    this.select(row.key);
    this.onSelect(row.parent || row.key, "timeline", row.parent ? "items" : null);
  }

  _range() {
    const { start, end } = this.state.extent();
    const now = Date.now() / 1000;
    const last = this.state.live ? Math.max(now, end ?? now) : end ?? now;
    const first = start ?? last;
    // A little room after the last bar, so the shortest one at the end still shows.
    return { first, span: Math.max((last - first) * 1.015, 0.001), now };
  }

  _render() {
    const rows = this.state.rows();
    this.empty.hidden = rows.length > 0;
    const partial = this.state.partial();
    this.note.hidden = !partial.length;
    if (partial.length) {
      this.note.textContent = `Earlier iterations of ${partial.join(", ")} are in events not read yet: scroll up the event log (or filter it by the step) to draw them.`;
    }
    this.spacer.style.height = `${rows.length * ROW}px`;
    const { first, span, now } = this._range();
    const at = (t) => Math.min(Math.max((t - first) / span, 0), 1);
    this._axis(span);
    const { top, height } = this.view;
    const from = Math.max(Math.floor(top / ROW) - OVERSCAN, 0);
    const to = Math.min(Math.ceil((top + height) / ROW) + OVERSCAN, rows.length);
    const fragment = document.createDocumentFragment();
    for (let i = from; i < to; i += 1) {
      const row = rows[i];
      const depth = row.key.split(".").length - 1 + (row.item ? 1 : 0);
      const name = row.item ? `[${row.index}]` : row.key.split(".").pop();
      const track = h("div", { class: "tl-track" });
      for (const span of this.state.spansOf(row)) {
        const start = span.start ?? span.end;
        if (start === null || start === undefined) continue;
        const end = span.end ?? (this.state.live ? now : start);
        const left = at(start);
        const title = [
          row.key,
          span.iteration ? `iteration ${span.iteration}` : "",
          `attempt ${span.attempt}`,
          span.kind === "suspend" ? "waiting for an answer" : span.kind === "wait" ? "sleeping" : "",
          span.status,
          formatDuration(end - start),
          `from ${formatLocal(start)} (${exactUtc(start)})`,
        ].filter(Boolean).join(" · ");
        track.append(h("div", {
          class: `tl-bar${span.end === null ? " open" : ""}${span.attempt > 1 ? " retry" : ""}`,
          dataset: { status: span.status, kind: span.kind },
          style: `left:${(left * 100).toFixed(3)}%;width:${(Math.max(at(end) - left, 0) * 100).toFixed(3)}%`,
          title,
        }));
      }
      const selected = this.selected !== null && (row.key === this.selected || row.parent === this.selected);
      fragment.append(h("div", {
        class: `tl-row${selected ? " selected" : ""}`,
        dataset: { key: row.key, ...(row.parent ? { parent: row.parent } : {}) },
        style: `top:${i * ROW}px`,
      }, h("span", { class: "tl-label", style: `padding-left:${0.25 + depth * 0.7}rem`, title: row.key }, name), track));
    }
    this.spacer.replaceChildren(fragment);
    const live = this.state.live && rows.length > 0;
    this.now.hidden = !live;
    if (live) {
      const { label, width } = this.view;
      this.now.style.left = `${label + at(now) * (width - label)}px`;
    }
  }

  _axis(span) {
    // About one tick per 90 px of track, so labels never overlap on a phone.
    const room = this.view.width - this.view.label;
    const step = niceStep(span, Math.min(Math.max(Math.floor(room / 90), 2), 8));
    const ticks = [];
    for (let t = 0; t <= span + 1e-9 && ticks.length < 12; t += step) {
      ticks.push(h("span", { class: "tl-tick", style: `--at:${(t / span).toFixed(4)}` }, tickLabel(Number(t.toPrecision(6)), step)));
    }
    this.axis.replaceChildren(h("span", { class: "tl-axis-label" }, "step"), ...ticks);
  }
}
