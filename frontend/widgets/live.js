// The one module that owns websockets (the live protocol of README "Live protocol").
//
//   const feed = watchRun(runId, { afterSeq });   // shared: one socket per run per page
//   feed.subscribe((event) => ...);               // every event after afterSeq, in seq order, once
//   feed.subscribeBatch((events) => ...);         // the same, grouped per animation frame
//   feed.onRun((summary) => ...);                 // the run's summary: at hello, on run.* events
//   feed.onState(({ state, detail, lastSeq }) => ...);
//   bindState(element, feed);                     // shows the connection state in an element
//
//   const runs = watchRuns();                     // the runs list feed
//   runs.subscribe((summary) => ...);
//
// States: connecting, live, finished (a live socket on a run that ended), reconnecting (with
// the last seq received), signed-out (4401), refused (4400, 4403, 4404). A reconnect asks for
// everything after the last seq, so nothing is missed; a gap in seq asks the server again.
import { ENDED } from "./status.js";

const RETRY_MS = [500, 1000, 2000, 4000, 8000, 10000];
const RUN_STATUS_OF = {
  "run.started": "running",
  "run.succeeded": "success",
  "run.failed": "failed",
  "run.canceled": "canceled",
  "run.suspended": "suspended",
  "run.paused": "paused",
};
const REFUSALS = {
  4400: ["refused", "The server refused the request."],
  4401: ["signed-out", "Your session has ended: sign in again to keep watching."],
  4403: ["refused", "Your account may not view runs."],
  4404: ["refused", "This run does not exist (any more)."],
};

function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

function notify(listeners, ...args) {
  for (const listener of [...listeners]) {
    try {
      listener(...args);
    } catch (error) {
      console.error("a live listener failed", error);
    }
  }
}

class Feed {
  constructor(path) {
    this.path = path;
    this.state = "connecting";
    this.detail = "";
    this.lastSeq = null;
    this.socket = null;
    this._stateListeners = new Set();
    this._listeners = new Set();
    this._attempt = 0;
    this._timer = null;
    this._stopped = false;
    this._wake = () => {
      if (this.state === "reconnecting" && !this.socket) this._reconnectNow();
    };
    window.addEventListener("online", this._wake);
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this._wake();
    });
  }

  /** Open the socket (once; later calls do nothing). */
  start() {
    if (!this.socket && !this._stopped && this.state === "connecting") this._connect();
    return this;
  }

  /** Close for good (no reconnect). */
  stop() {
    this._stopped = true;
    clearTimeout(this._timer);
    if (this.socket) this.socket.close(1000);
  }

  /** Call `listener({state, detail, lastSeq})` now and on every change; returns unsubscribe. */
  onState(listener) {
    this._stateListeners.add(listener);
    listener(this.snapshot());
    return () => this._stateListeners.delete(listener);
  }

  /** The connection state as onState listeners get it. */
  snapshot() {
    return { state: this.state, detail: this.detail, lastSeq: this.lastSeq };
  }

  /** Call `listener(message)` for each message this feed delivers; returns unsubscribe. */
  subscribe(listener) {
    this._listeners.add(listener);
    this.start();
    return () => this._listeners.delete(listener);
  }

  _url() {
    return this.path;
  }

  _setState(state, detail = "") {
    if (state === this.state && detail === this.detail) return;
    this.state = state;
    this.detail = detail;
    notify(this._stateListeners, this.snapshot());
  }

  _connect() {
    const socket = new WebSocket(socketUrl(this._url()));
    this.socket = socket;
    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      this._receive(data);
    });
    socket.addEventListener("close", (closing) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this._closed(closing.code);
    });
  }

  _closed(code) {
    if (this._stopped) return;
    if (REFUSALS[code]) {
      this._setState(...REFUSALS[code]);
      return;
    }
    const delay = RETRY_MS[Math.min(this._attempt, RETRY_MS.length - 1)];
    this._attempt += 1;
    this._setState("reconnecting", `Connection lost; trying again in ${Math.round(delay / 100) / 10} s.`);
    this._timer = setTimeout(() => this._connect(), delay);
  }

  _reconnectNow() {
    clearTimeout(this._timer);
    this._connect();
  }

  _send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  _receive() {}
}

/** One run's events (`/ws/runs/<run_id>/?after_seq=N`). Use watchRun() to get one. */
export class RunFeed extends Feed {
  constructor(runId, afterSeq = 0) {
    super(`/ws/runs/${encodeURIComponent(runId)}/`);
    this.runId = runId;
    this.lastSeq = afterSeq;
    this.run = null;
    this._serverSeq = afterSeq; // events up to here are history; later ones change the status
    this._runListeners = new Set();
    this._batchListeners = new Set();
    this._batch = [];
    this._flushScheduled = false;
    this._askedAfter = null;
  }

  /** Call `listener(events)` with the events of each animation frame (at least one each). */
  subscribeBatch(listener) {
    this._batchListeners.add(listener);
    this.start();
    return () => this._batchListeners.delete(listener);
  }

  /** Call `listener(summary)` with the run's summary at every hello and run status change. */
  onRun(listener) {
    this._runListeners.add(listener);
    if (this.run) listener(this.run);
    this.start();
    return () => this._runListeners.delete(listener);
  }

  /** Ask the server for every stored event after the last one received. */
  catchUp() {
    this._send({ type: "catch_up", after_seq: this.lastSeq });
  }

  _url() {
    return `${this.path}?after_seq=${this.lastSeq}`;
  }

  _receive(message) {
    if (message.type === "hello") {
      this._attempt = 0;
      this.run = message.run;
      this._serverSeq = Math.max(this._serverSeq, message.last_seq || 0);
      notify(this._runListeners, this.run);
      this._showState();
    } else if (message.type === "event") {
      this._event(message.event);
    } else if (message.type === "error") {
      console.warn("live protocol:", message.message);
    }
  }

  _event(event) {
    if (event.seq <= this.lastSeq) return; // had it already
    if (event.seq > this.lastSeq + 1) {
      // Something was missed: the server sends everything after lastSeq again (asked once).
      if (this._askedAfter !== this.lastSeq) {
        this._askedAfter = this.lastSeq;
        this.catchUp();
      }
      return;
    }
    this.lastSeq = event.seq;
    this._askedAfter = null;
    if (this.run && event.seq > this._serverSeq) {
      this._serverSeq = event.seq;
      this.run = { ...this.run, seq: event.seq };
      const status = RUN_STATUS_OF[event.type];
      if (status) {
        this.run.status = status;
        notify(this._runListeners, this.run);
      }
    }
    notify(this._listeners, event);
    if (this._batchListeners.size) this._queue(event);
    this._showState();
  }

  _queue(event) {
    this._batch.push(event);
    if (this._flushScheduled) return;
    this._flushScheduled = true;
    const flush = () => {
      this._flushScheduled = false;
      const events = this._batch;
      this._batch = [];
      if (events.length) notify(this._batchListeners, events);
    };
    // Frames do not run in a hidden tab; a timer does.
    if (document.visibilityState === "hidden") setTimeout(flush, 50);
    else requestAnimationFrame(flush);
  }

  _showState() {
    const ended = this.run && ENDED.includes(this.run.status);
    this.state = ended ? "finished" : "live";
    this.detail = ended ? `The run ended: ${this.run.status}.` : "";
    notify(this._stateListeners, this.snapshot()); // also when only lastSeq moved
  }
}

/** The runs list feed (`/ws/runs/`): each run's new summary. Use watchRuns() to get it. */
export class RunsFeed extends Feed {
  constructor() {
    super("/ws/runs/");
    this.connections = 0;
  }

  _receive(message) {
    if (message.type === "hello") {
      this._attempt = 0;
      this.connections += 1;
      this._setState("live", this.connections > 1 ? "reconnected" : "");
    } else if (message.type === "run") {
      notify(this._listeners, message.run);
    }
  }
}

const runFeeds = new Map();
let runsFeed = null;

/** The page's feed of one run, created (from `afterSeq`) on first use. */
export function watchRun(runId, { afterSeq = 0 } = {}) {
  if (!runFeeds.has(runId)) runFeeds.set(runId, new RunFeed(runId, afterSeq));
  return runFeeds.get(runId).start();
}

/** The page's runs list feed. */
export function watchRuns() {
  if (!runsFeed) runsFeed = new RunsFeed();
  return runsFeed.start();
}

const LABELS = {
  connecting: () => "Connecting…",
  live: (s) => (s.lastSeq !== null ? `Live · seq ${s.lastSeq}` : "Live"),
  finished: (s) => `Finished · seq ${s.lastSeq}`,
  reconnecting: (s) =>
    s.lastSeq !== null ? `Reconnecting… (last seq ${s.lastSeq})` : "Reconnecting…",
  "signed-out": () => "Signed out",
  refused: () => "Not live",
};

/** Show `feed`'s connection state in `element` (templates/partials/live_state.html). */
export function bindState(element, feed) {
  return feed.onState((snapshot) => {
    element.dataset.state = snapshot.state;
    element.textContent = LABELS[snapshot.state](snapshot);
    element.title = snapshot.detail || element.textContent;
  });
}

// For debugging and browser tests: the page's feeds.
window.stepbackLive = { runFeeds, get runsFeed() { return runsFeed; } };
