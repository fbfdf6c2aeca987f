// The run as the page knows it at one seq: each step path's record (status, timings, attempts,
// loop iteration, foreach items) and the timeline's bars, built from records as stored at a
// seq (the page's outline; a scrubber can pass a snapshot's records the same way) and then
// each event after that seq, in order. Nothing here touches the DOM.
//
//   const state = new RunState({ run, graph, steps });   // steps: pages/run.py `outline()`
//   const changed = state.apply(event);                 // Set of record keys (null: nothing new)
//   state.nodeStatus(nodeKey); state.badge(nodeKey); state.firstFailure(); state.rows();
//   state.addHistory(events);                           // older events: loop iterations before the page
//   RunState.fromSnapshot(snapshot);                    // the run at a stored seq (a scrubber)
import { ENDED } from "../widgets/status.js";

const RUN_STATUS_OF = {
  "run.started": "running",
  "run.succeeded": "success",
  "run.failed": "failed",
  "run.canceled": "canceled",
  "run.suspended": "suspended",
  "run.paused": "paused",
};
const STEP_END = { "step.succeeded": "success", "step.failed": "failed", "step.canceled": "canceled" };
// Which status a node shows when several records stand for it (the items of a foreach).
const PRECEDENCE = ["failed", "running", "waiting", "suspended", "paused", "canceled", "success", "skipped"];
export const ACTIVE = ["pending", "running", "waiting"];

/** The graph node of a record key: foreach item indexes dropped (`a[3].b` -> `a.b`). */
export function nodeKeyOf(key) {
  return key.replace(/\[\d+\]/g, "");
}

/** True when `other` is a step inside `key` (a nested step or a foreach item's). */
export function inside(key, other) {
  return other.startsWith(`${key}.`) || other.startsWith(`${key}[`);
}

function toSeconds(value) {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms / 1000;
}

function isSleep(node) {
  return Boolean(node) && (node.kind === "sleep" || node.kind === "sleep_until");
}

/** The bars of one record: each attempt, the wait for an answer, the run after it. */
function recordSpans(record, node) {
  const spans = [];
  const attempts = record.attempts && record.attempts.length
    ? record.attempts
    : [[1, record.status, record.started_at, record.ended_at]];
  const iteration = record.iteration ?? null;
  let previousEnd = null;
  attempts.forEach(([attempt, status, started, ended], index) => {
    // Only the first attempt is stored with its start; a retry begins when the one before failed.
    const start = index === 0 || previousEnd === null ? started ?? record.started_at : previousEnd;
    const last = index === attempts.length - 1;
    const end = ACTIVE.includes(status) || status === "suspended" ? null : ended;
    if (last && record.suspended_at) {
      spans.push({ attempt, iteration, start, end: record.suspended_at, status: "suspended", kind: "run" });
      const answered = record.resumed_at ?? null;
      spans.push({
        attempt, iteration, start: record.suspended_at, end: answered,
        status: answered ? "success" : "suspended", kind: "suspend",
      });
      if (answered) spans.push({ attempt, iteration, start: answered, end, status, kind: "run" });
    } else {
      spans.push({ attempt, iteration, start, end, status, kind: isSleep(node) || status === "waiting" ? "wait" : "run" });
    }
    previousEnd = ended ?? null;
  });
  return spans;
}

function identity(span) {
  return `${span.iteration ?? 0}:${span.attempt}:${span.kind}`;
}

export class RunState {
  constructor({ run, graph, steps }) {
    this.run = { ...run };
    this.seq = run.seq || 0;
    this.graph = graph || { nodes: [], edges: [] };
    this.nodes = new Map();
    this.position = new Map();
    (this.graph.nodes || []).forEach((node, index) => {
      this.nodes.set(node.key, node);
      this.position.set(node.key, index);
    });
    this.records = new Map();
    this.spans = new Map();
    this.byNode = new Map(); // node key -> Set of record keys
    this._rows = null;
    for (const [key, record] of Object.entries(steps || {})) {
      const attempts = record.attempts
        ? record.attempts.map((a) => [...a])
        : [[1, record.status, record.started_at, record.ended_at]];
      this._put(key, { ...record, attempts });
      this.spans.set(key, recordSpans(record, this.nodes.get(nodeKeyOf(key))));
    }
  }

  /** The run as a stored snapshot holds it (`GET /api/runs/<id>/snapshots/<seq>/`): the
   * engine's records turned into the outline's shape; apply later events to move on. */
  static fromSnapshot(snapshot, graph = snapshot.graph) {
    const steps = {};
    for (const [key, record] of Object.entries(snapshot.steps || {})) {
      const step = {
        status: record.status,
        seq: snapshot.seq,
        started_at: record.started_at ?? null,
        ended_at: record.ended_at ?? null,
      };
      for (const name of ["iteration", "suspended_at", "resumed_at", "wake_at", "labels"]) {
        if (record[name] !== undefined && record[name] !== null) step[name] = record[name];
      }
      if (record.error) step.error = record.error.type;
      if (record.items) {
        step.items = record.items.map((item) => (item
          ? [item.status, item.started_at ?? null, item.ended_at ?? null, item.attempts ?? 0]
          : null));
      }
      steps[key] = step;
    }
    const run = {
      run_id: snapshot.run_id, workflow_id: snapshot.workflow_id, status: snapshot.status,
      seq: snapshot.seq, created_at: snapshot.created_at, started_at: snapshot.started_at,
      finished_at: snapshot.finished_at, updated_at: snapshot.updated_at,
    };
    return new this({ run, graph, steps });
  }

  _put(key, record) {
    if (!this.records.has(key)) {
      const node = nodeKeyOf(key);
      if (!this.byNode.has(node)) this.byNode.set(node, new Set());
      this.byNode.get(node).add(key);
      this._rows = null;
    }
    this.records.set(key, record);
  }

  /** True while the run may still change (it has not ended). */
  get live() {
    return !ENDED.includes(this.run.status);
  }

  /** Apply one event (ignored when it is not after the state's seq): the record keys it
   * changed, "" standing for the run itself. */
  apply(event) {
    if (event.seq <= this.seq) return null;
    this.seq = event.seq;
    this.run.seq = event.seq;
    const changed = new Set();
    if (event.type.startsWith("run.")) {
      const status = RUN_STATUS_OF[event.type];
      if (status) this.run.status = status;
      if (event.type === "run.started" && !this.run.started_at) this.run.started_at = event.ts;
      if (ENDED.includes(status)) this.run.finished_at = event.ts;
      changed.add("");
      return changed;
    }
    const key = (event.path || []).join(".");
    if (!key) return changed;
    const record = this.records.get(key);
    if (record && event.seq <= (record.seq || 0)) return changed; // the record already had it
    this._step(key, record, event);
    changed.add(key);
    return changed;
  }

  /** Apply events in order; every key changed. */
  applyAll(events) {
    const changed = new Set();
    for (const event of events) {
      const keys = this.apply(event);
      if (keys) for (const key of keys) changed.add(key);
    }
    return changed;
  }

  _open(key) {
    const spans = this.spans.get(key) || [];
    for (let i = spans.length - 1; i >= 0; i -= 1) if (spans[i].end === null) return spans[i];
    return null;
  }

  _close(key, ts, status) {
    const open = this._open(key);
    if (open) {
      open.end = ts;
      open.status = status;
    }
    return open;
  }

  _begin(key, span) {
    if (!this.spans.has(key)) this.spans.set(key, []);
    this.spans.get(key).push(span);
  }

  _step(key, record, event) {
    const { type, ts, payload = {} } = event;
    const node = this.nodes.get(nodeKeyOf(key));
    let next = record ? { ...record } : { status: "pending", attempts: [] };
    if (type === "step.started") {
      const iteration = payload.iteration ?? null;
      this._close(key, ts, "canceled"); // an open bar left by a restart
      next = { status: "running", started_at: ts, ended_at: null, attempts: [[1, "running", ts, null]], iteration };
      if (node && node.block === "foreach") next.items = [];
      this._begin(key, { attempt: 1, iteration, start: ts, end: null, status: "running", kind: isSleep(node) ? "wait" : "run" });
    } else if (type === "step.retrying") {
      const attempt = Number(payload.attempt) || (next.attempts.length + 1);
      const failed = this._close(key, ts, "failed");
      next.attempts = next.attempts.map((a) => (a[0] === attempt - 1 ? [a[0], "failed", a[2], ts] : a));
      next.attempts.push([attempt, "running", null, null]);
      next.status = "running";
      if (payload.error) next.error = payload.error.type;
      this._begin(key, { attempt, iteration: failed ? failed.iteration : next.iteration ?? null, start: ts, end: null, status: "running", kind: "run" });
    } else if (STEP_END[type]) {
      const status = STEP_END[type];
      this._close(key, ts, status);
      next.status = status;
      next.ended_at = ts;
      next.attempts = next.attempts.map((a, i) => (i === next.attempts.length - 1 ? [a[0], status, a[2], ts] : a));
      if (payload.error) next.error = payload.error.type;
    } else if (type === "step.suspended") {
      const open = this._close(key, ts, "suspended");
      next.status = "suspended";
      next.suspended_at = ts;
      if (payload.labels) next.labels = payload.labels;
      this._begin(key, {
        attempt: open ? open.attempt : 1, iteration: next.iteration ?? null, start: ts, end: null,
        status: "suspended", kind: "suspend",
      });
    } else if (type === "step.resumed") {
      const open = this._close(key, ts, "success");
      next.status = "running";
      next.resumed_at = ts;
      this._begin(key, {
        attempt: open ? open.attempt : 1, iteration: next.iteration ?? null, start: ts, end: null,
        status: "running", kind: "run",
      });
    } else if (type === "step.waiting") {
      next.status = "waiting";
      if (payload.wake_at) next.wake_at = payload.wake_at;
      const open = this._open(key);
      if (open) open.kind = "wait";
      else this._begin(key, { attempt: 1, iteration: next.iteration ?? null, start: ts, end: null, status: "waiting", kind: "wait" });
    } else if (type === "step.progress") {
      if (payload.kind === "foreach") {
        next.items = [...(next.items || [])];
        const index = Number(payload.current_index);
        if (Number.isInteger(index) && index >= 0) {
          const before = next.items[index];
          next.items[index] = [payload.iteration_status, before ? before[1] : null, ts, before ? before[3] : null];
        }
        next.total = payload.total_count;
        this._rows = null; // an item row may have appeared
      } else {
        next.note = payload.data;
      }
    }
    next.seq = event.seq;
    this._put(key, next);
  }

  /**
   * Events from before the page's seq (the event log loads them): the bars they describe that
   * the records no longer hold (a loop's earlier iterations) are added to the timeline.
   * Returns the keys that gained bars.
   */
  addHistory(events) {
    const replay = new RunState({ run: { status: "running", seq: 0 }, graph: this.graph, steps: {} });
    const older = events.filter((e) => e.seq <= this.seq);
    for (const event of older) replay._replay(event);
    const gained = new Set();
    for (const [key, spans] of replay.spans) {
      const current = this.spans.get(key);
      if (!current) continue; // a step the records do not hold is not this page's to add
      const known = new Set(current.map(identity));
      for (const span of spans) {
        if (span.end === null || span.start === null || known.has(identity(span))) continue;
        current.push(span);
        gained.add(key);
      }
      current.sort((a, b) => (a.start ?? 0) - (b.start ?? 0));
    }
    return gained;
  }

  _replay(event) {
    const key = (event.path || []).join(".");
    if (key && event.type.startsWith("step.")) this._step(key, this.records.get(key), event);
  }

  /** The status a node shows: its record's, or the most telling of its items' records. */
  nodeStatus(nodeKey) {
    const keys = this.byNode.get(nodeKey);
    if (!keys || !keys.size) return "";
    if (keys.size === 1) return this.records.get([...keys][0]).status;
    const statuses = new Set([...keys].map((k) => this.records.get(k).status));
    return PRECEDENCE.find((s) => statuses.has(s)) || [...statuses][0];
  }

  /** True when anything was recorded for the node. */
  reached(nodeKey) {
    return Boolean(this.byNode.get(nodeKey)?.size);
  }

  /** A node's badge `{text, tone}`: a loop's iteration, a foreach's progress and failures. */
  badge(nodeKey) {
    const node = this.nodes.get(nodeKey);
    const record = this.records.get(nodeKey);
    if (!node || !record) return { text: "", tone: "" };
    if (node.block === "loop" && record.iteration) return { text: `×${record.iteration}`, tone: "" };
    if (node.block === "foreach") {
      const items = record.items || [];
      let done = 0;
      let failed = 0;
      for (const item of items) {
        if (!item) continue;
        if (item[0] === "success") done += 1;
        else if (item[0] === "failed") failed += 1;
      }
      const total = record.total ?? items.length;
      if (!total && !items.length) return { text: "", tone: "" };
      return failed
        ? { text: `${done}/${total} · ✗${failed}`, tone: "failed" }
        : { text: `${done}/${total}`, tone: done === total ? "success" : "" };
    }
    return { text: "", tone: "" };
  }

  /** The record key of the step that failed first (a failing step rather than the workflow
   * around it); the same rule as `first_failure` in pages/run.py. */
  firstFailure() {
    const failed = [...this.records].filter(([, r]) => r.status === "failed").map(([k]) => k);
    const leaves = failed.filter((key) => !failed.some((other) => inside(key, other)));
    if (!leaves.length) return null;
    const end = (key) => toSeconds(this.records.get(key).ended_at) ?? Infinity;
    leaves.sort((a, b) => end(a) - end(b) || b.length - a.length);
    return leaves[0];
  }

  _sortKey(key) {
    const parts = [];
    const segments = key.split(".");
    for (let i = 0; i < segments.length; i += 1) {
      const match = segments[i].match(/^(.*?)((?:\[\d+\])*)$/);
      const prefix = nodeKeyOf([...segments.slice(0, i), match[1]].join("."));
      const index = match[2] ? Number(match[2].slice(1, -1)) : -1;
      parts.push(this.position.get(prefix) ?? 1e9, index);
    }
    return parts;
  }

  /** The timeline's rows in flow order: each record key, a foreach's items after it. */
  rows() {
    if (this._rows) return this._rows;
    const keys = [...this.records.keys()];
    const sortKeys = new Map(keys.map((k) => [k, this._sortKey(k)]));
    keys.sort((a, b) => {
      const x = sortKeys.get(a);
      const y = sortKeys.get(b);
      for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i] - y[i];
      return x.length - y.length;
    });
    const rows = [];
    for (const key of keys) {
      rows.push({ key, item: null });
      const record = this.records.get(key);
      if (record.items) {
        record.items.forEach((item, index) => {
          if (item) rows.push({ key: `${key}[${index}]`, item, parent: key, index });
        });
      }
    }
    this._rows = rows;
    return rows;
  }

  /** Forget the row order (a foreach item appeared). */
  invalidateRows() {
    this._rows = null;
  }

  /** The bars of a timeline row. */
  spansOf(row) {
    if (!row.item) return this.spans.get(row.key) || [];
    const [status, start, end] = row.item;
    return [{ attempt: 1, iteration: null, start, end: ACTIVE.includes(status) ? null : end, status, kind: "run" }];
  }

  /** From the first step's start (the run's own start before any step) to the latest end, in
   * seconds since the epoch: what the timeline spans. */
  extent() {
    let start = null;
    let end = toSeconds(this.run.finished_at);
    for (const spans of this.spans.values()) {
      for (const span of spans) {
        if (span.start !== null && (start === null || span.start < start)) start = span.start;
        if (span.end !== null && (end === null || span.end > end)) end = span.end;
      }
    }
    // A loop whose earlier iterations are not loaded: the timeline spans the whole run.
    if (start === null || this.partial().length) {
      start = toSeconds(this.run.started_at) ?? toSeconds(this.run.created_at) ?? start;
    }
    return { start, end };
  }

  /** Record keys whose bars are not all known here: a loop's iterations before the page, in
   * events the event log has not read. */
  partial() {
    const keys = [];
    for (const [key, record] of this.records) {
      if (!record.iteration) continue;
      const iterations = new Set((this.spans.get(key) || []).map((span) => span.iteration));
      if (iterations.size < record.iteration) keys.push(key);
    }
    return keys;
  }
}

export { toSeconds };
