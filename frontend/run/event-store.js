// A run's event log in the browser, read from the events API a page at a time (only the pages
// someone looks at, or all of them for a filter) and topped up with the live events.
//
//   const store = new EventStore(eventsUrl, lastSeq);
//   store.onLoad((events) => ...);   // events read from the API (older ones, for history)
//   await store.ensure(fromSeq, toSeq);
//   store.get(seq); store.total; store.append(liveEvents); await store.loadAll(onProgress);
import { getJson } from "../widgets/api.js";

export const PAGE = 500;
const PARALLEL = 3; // pages read at once by loadAll

export class EventStore {
  constructor(url, lastSeq) {
    this.url = url;
    this.total = lastSeq;
    this.events = new Map(); // seq -> event
    this.loading = new Map(); // page -> promise
    this.loaded = new Set();
    this._listeners = new Set();
  }

  /** Call `listener(events)` with each page read from the API. */
  onLoad(listener) {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  get(seq) {
    return this.events.get(seq);
  }

  /** How many of the run's events are here. */
  get count() {
    return this.events.size;
  }

  /** True when every event up to the last one is here. */
  get complete() {
    return this.events.size >= this.total;
  }

  /** Keep live events (in seq order, from the live feed). */
  append(events) {
    for (const event of events) {
      this.events.set(event.seq, event);
      if (event.seq > this.total) this.total = event.seq;
    }
  }

  _page(seq) {
    return Math.floor((seq - 1) / PAGE);
  }

  /** True when every page holding seqs `from`..`to` has been read (nothing to wait for). */
  has(from, to) {
    const first = this._page(Math.max(from, 1));
    const last = this._page(Math.max(Math.min(to, this.total), 1));
    for (let page = first; page <= last; page += 1) if (!this.loaded.has(page)) return false;
    return true;
  }

  /** Read the pages holding seqs `from`..`to` that are not here yet. */
  ensure(from, to) {
    const first = this._page(Math.max(from, 1));
    const last = this._page(Math.max(Math.min(to, this.total), 1));
    const waits = [];
    for (let page = first; page <= last; page += 1) waits.push(this._load(page));
    return Promise.all(waits);
  }

  _load(page) {
    if (this.loaded.has(page)) return Promise.resolve();
    if (this.loading.has(page)) return this.loading.get(page);
    const after = page * PAGE;
    const promise = getJson(`${this.url}?after_seq=${after}&limit=${PAGE}`)
      .then((answer) => {
        const fresh = answer.events.filter((event) => !this.events.has(event.seq));
        for (const event of answer.events) this.events.set(event.seq, event);
        if (answer.run_seq > this.total) this.total = answer.run_seq;
        // A page read before the run got that far is topped up by the live events.
        this.loaded.add(page);
        for (const listener of [...this._listeners]) listener(fresh);
      })
      .finally(() => this.loading.delete(page));
    this.loading.set(page, promise);
    return promise;
  }

  /** Read every page not here yet, oldest first, a few at a time; `onProgress(count, total)`
   * after each. */
  async loadAll(onProgress = () => {}) {
    const last = this._page(Math.max(this.total, 1));
    let next = 0;
    const worker = async () => {
      while (next <= last) {
        const page = next;
        next += 1;
        await this._load(page);
        onProgress(this.count, this.total);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
  }
}
