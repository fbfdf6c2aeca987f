// The scrubber: a slider over the run's events. Moving it shows the graph, the timeline and the
// step panel as the run was after that event; "Now" goes back to the live run. A moment is
// built from the nearest stored snapshot at or before it (`/api/runs/<id>/snapshots/<seq>/`)
// and the few events after that snapshot, never by replaying the whole log: snapshots already
// read are kept, so dragging over a long run reads one now and then and replays a few hundred
// events at most. The position is in the address (`?at=<seq>`).
//
//   const scrubber = new Scrubber(element, { live, graph, urls, store, widgets });
//   scrubber.moveTo(seq);   // null: now
//   scrubber.step(-1);      // one event back (`[`), +1 forward (`]`)
//   scrubber.grow();        // the live run has more events (after a live batch)
import { ApiError, getJson } from "../widgets/api.js";
import { h } from "../widgets/dom.js";
import { statusChip } from "../widgets/status.js";
import { exactUtc, formatLocal } from "../widgets/time.js";
import { RunState, toSeconds } from "./state.js";

// Events replayed on top of a kept snapshot before a nearer one is read instead.
const REPLAY = 400;
const KEEP = 64; // snapshots kept
const PANEL_AFTER_MS = 180; // the panel (a server round trip) follows once the slider rests

/** The run at a past moment: not live (nothing moves on its own), open bars end at the moment. */
class MomentState extends RunState {
  get live() {
    return false;
  }

  spansOf(row) {
    const spans = super.spansOf(row);
    if (this.until === undefined || this.until === null) return spans;
    return spans.map((span) => (span.end === null && span.start !== null ? { ...span, end: this.until } : span));
  }

  extent() {
    const { start, end } = super.extent();
    return { start, end: end === null || (this.until !== null && this.until > end) ? this.until : end };
  }
}

function emptyMoment(live, graph) {
  const run = { ...live.run, status: "pending", seq: 0, started_at: null, finished_at: null };
  return new MomentState({ run, graph, steps: {} });
}

export class Scrubber {
  constructor(element, { live, graph, urls, store, widgets, onMove = () => {} }) {
    this.element = element;
    this.live = live; // the page's live RunState
    this.graph = graph;
    this.url = urls.snapshots;
    this.store = store;
    this.widgets = widgets;
    this.onMove = onMove;
    this.at = null; // null: now
    this.moment = null;
    this.snapshots = new Map(); // seq -> snapshot (as read)
    this.pending = new Map(); // seq asked for -> promise of the snapshot read
    this.reach = new Map(); // kept snapshot's seq -> the greatest seq it was the answer for
    this.cost = 0; // ms from the last move to its drawing (the benchmark reads it)
    this.none = 0; // no snapshot is stored at or before this seq
    this.wanted = undefined; // the position still to build
    this.running = null; // the build loop, while one runs
    this.panelTimer = null;
    this.rendered = 0; // positions drawn (the benchmark reads it)

    this.slider = h("input", {
      type: "range", min: "1", max: String(Math.max(live.seq, 1)), value: String(Math.max(live.seq, 1)),
      step: "1", class: "scrub-slider", id: "scrub-slider", "aria-label": "Event",
      "aria-keyshortcuts": "[ ]", "data-scrub-slider": "",
    });
    this.back = h("button", { type: "button", class: "btn btn-small", title: "One event back ([)", "data-scrub-back": "" }, "‹");
    this.forward = h("button", { type: "button", class: "btn btn-small", title: "One event on (])", "data-scrub-forward": "" }, "›");
    this.nowButton = h("button", { type: "button", class: "btn btn-small btn-primary", title: "Back to the live run", "data-scrub-now": "" }, "Now");
    this.readout = h("span", { class: "scrub-readout", "aria-live": "polite", "data-scrub-readout": "" });
    element.replaceChildren(
      h("label", { class: "scrub-label", for: "scrub-slider" }, "Moment"),
      this.back, this.slider, this.forward, this.nowButton, this.readout,
    );
    this.slider.addEventListener("input", () => this.moveTo(Number(this.slider.value)));
    this.back.addEventListener("click", () => this.step(-1));
    this.forward.addEventListener("click", () => this.step(1));
    this.nowButton.addEventListener("click", () => this.moveTo(null));
    element.hidden = false;
    this._show();
  }

  /** The live run has more events: the slider reaches them (and, at now, stays at now). */
  grow() {
    this.slider.max = String(Math.max(this.live.seq, 1));
    if (this.at === null) {
      this.slider.value = this.slider.max;
      this._show();
    }
  }

  /** Move by `delta` events (from now, `-1` is the event before the last). */
  step(delta) {
    const from = this.at ?? this.live.seq;
    const to = Math.min(Math.max(from + delta, 1), this.live.seq);
    return this.moveTo(to);
  }

  /** Show the run after event `seq` (null, or the last event: the live run). */
  moveTo(seq) {
    const target = seq === null || seq >= this.live.seq ? null : Math.max(Math.round(seq), 1);
    this.at = target;
    this.slider.value = String(target ?? this.live.seq);
    this._remember();
    this.movedAt = performance.now();
    if (target === null) {
      this.wanted = undefined;
      this.moment = null;
      this._draw(this.live, null);
      return Promise.resolve();
    }
    // One moment is built at a time; a drag's moves in between are skipped for the latest.
    this.wanted = target;
    if (!this.running) this.running = this._run().finally(() => { this.running = null; });
    return this.running;
  }

  async _run() {
    while (this.wanted !== undefined) {
      const target = this.wanted;
      this.wanted = undefined;
      try {
        const moment = await this._build(target);
        if (this.at === null) continue; // back at now meanwhile
        this.moment = moment;
        if (this.wanted === undefined && this.at === target) this._draw(moment, target);
      } catch (error) {
        if (this.wanted !== undefined || this.at !== target) continue;
        this.readout.replaceChildren(h("span", { class: "alert-inline", role: "alert" },
          `This moment could not be shown: ${error.message}`));
      }
    }
  }

  async _build(target) {
    let base = null;
    // On from the moment shown, when it is close behind (and still is once its events are here).
    if (this.moment && this.moment.seq <= target && target - this.moment.seq <= REPLAY) {
      await this.store.ensure(this.moment.seq + 1, target);
      if (this.moment && this.moment.seq <= target) base = this.moment;
    }
    if (!base) {
      const kept = this._nearestKept(target);
      // A kept snapshot close behind: its events are here, or one read of a page brings them
      // (and serves the moves after).
      if (kept !== null) {
        if (!this.store.has(kept + 1, target)) await this.store.ensure(kept + 1, target);
        base = MomentState.fromSnapshot(this.snapshots.get(kept), this.graph);
      }
    }
    if (!base) {
      // A read under way (the one a little earlier, asked for by the jump before) will do.
      const coming = this._pendingFor(target);
      const snapshot = coming ? await coming : null;
      if (snapshot && this._nearestKept(target) === snapshot.seq) {
        await this.store.ensure(snapshot.seq + 1, target);
        base = MomentState.fromSnapshot(snapshot, this.graph);
      }
    }
    if (!base) {
      // A jump: the snapshot at the moment itself (nothing to replay), and in the background
      // one a little earlier, for the moves back that usually follow.
      // The page of events around the moment is read meanwhile (the readout and the replay
      // after the snapshot need it).
      const events = this.store.ensure(target, target);
      const snapshot = target <= this.none ? null : await this._snapshot(target);
      await events;
      base = snapshot ? MomentState.fromSnapshot(snapshot, this.graph) : emptyMoment(this.live, this.graph);
      const earlier = Math.max(target - REPLAY / 2, 1);
      if (snapshot && earlier < snapshot.seq && this._nearestKept(earlier) === null
        && !this._pendingFor(earlier) && earlier > this.none) {
        this._snapshot(earlier).catch(() => {});
      }
      if (base.seq < target) await this.store.ensure(base.seq + 1, target);
    }
    for (let seq = base.seq + 1; seq <= target; seq += 1) {
      const event = this.store.get(seq);
      if (event) base.apply(event);
    }
    base.seq = target;
    base.run.seq = target;
    const event = this.store.get(target);
    base.until = event ? event.ts : toSeconds(base.run.updated_at);
    base.invalidateRows();
    if (!event) {
      // The readout names the event once its page is read (the moment is drawn meanwhile).
      this.store.ensure(target, target).then(() => {
        if (this.at === target) this._show();
      }).catch(() => {});
    }
    return base;
  }

  // The kept snapshot to start `target` from: one close behind it, or the one the server
  // answered for a seq at or after `target` (then no nearer one is stored: a run whose steps
  // never wait is stored in a few writes).
  _nearestKept(target) {
    let best = null;
    for (const seq of this.snapshots.keys()) {
      const usable = seq <= target && (target - seq <= REPLAY || target <= (this.reach.get(seq) ?? 0));
      if (usable && (best === null || seq > best)) best = seq;
    }
    return best;
  }

  // A snapshot read under way that may do for `target` (asked for a seq close to it).
  _pendingFor(target) {
    let best = null;
    for (const seq of this.pending.keys()) {
      if (Math.abs(target - seq) <= REPLAY && (best === null || Math.abs(target - seq) < Math.abs(target - best))) best = seq;
    }
    return best === null ? null : this.pending.get(best);
  }

  _snapshot(target) {
    if (this.pending.has(target)) return this.pending.get(target);
    const promise = this._read(target).finally(() => this.pending.delete(target));
    this.pending.set(target, promise);
    return promise;
  }

  async _read(target) {
    let snapshot;
    try {
      snapshot = await getJson(`${this.url}${target}/`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.none = Math.max(this.none, target);
        return null;
      }
      throw error;
    }
    if (this.snapshots.size >= KEEP) {
      const oldest = this.snapshots.keys().next().value;
      this.snapshots.delete(oldest);
      this.reach.delete(oldest);
    }
    this.snapshots.set(snapshot.seq, snapshot);
    this.reach.set(snapshot.seq, Math.max(this.reach.get(snapshot.seq) ?? 0, target));
    return snapshot;
  }

  _draw(state, at) {
    const { graph, timeline, panel } = this.widgets;
    graph.state = state;
    graph.update(null);
    timeline.state = state;
    timeline.update(true);
    if (this.widgets.events) this.widgets.events.moment(at);
    const root = this.element.closest("main") || document;
    root.classList.toggle("is-scrubbed", at !== null);
    this._show();
    this.rendered += 1;
    this.cost = performance.now() - this.movedAt;
    clearTimeout(this.panelTimer);
    if ((panel.at ?? null) !== at) {
      this.panelTimer = setTimeout(() => {
        panel.at = at;
        panel.refresh();
      }, at === null ? 0 : PANEL_AFTER_MS);
    }
    this.onMove(at, state);
  }

  _show() {
    const at = this.at;
    this.nowButton.hidden = at === null;
    this.forward.disabled = at === null;
    this.back.disabled = (at ?? this.live.seq) <= 1;
    this.element.dataset.at = at === null ? "now" : String(at);
    if (at === null) {
      this.readout.replaceChildren(h("span", { class: "muted" },
        this.live.seq ? `now: event #${this.live.seq}` : "no event yet"));
      return;
    }
    const event = this.store.get(at);
    const parts = [h("strong", {}, `#${at}`), h("span", { class: "muted" }, ` of ${this.live.seq} `)];
    if (this.moment) parts.push(statusChip(this.moment.run.status), " ");
    if (event) {
      parts.push(h("code", {}, event.type), " ");
      const key = (event.path || []).join(".");
      if (key) parts.push(h("span", {}, key), " ");
      parts.push(h("time", { datetime: new Date(event.ts * 1000).toISOString(), title: exactUtc(event.ts), class: "muted" }, formatLocal(event.ts)));
    }
    this.readout.replaceChildren(...parts);
  }

  _remember() {
    const url = new URL(window.location.href);
    if (this.at === null) url.searchParams.delete("at");
    else url.searchParams.set("at", String(this.at));
    window.history.replaceState(window.history.state, "", url);
  }
}
