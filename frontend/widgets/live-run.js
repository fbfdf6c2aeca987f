// A run followed live on a page: `data-module="widgets/live-run"` with `data-run-id` and
// `data-after-seq` (the seq the page was rendered at). Shows the connection state
// (`[data-live-state]`), the run's status (`[data-run-status]`) and the new events
// (`[data-live-events]`, an <ol>) as they arrive.
import { h } from "./dom.js";
import { bindState, watchRun } from "./live.js";
import { statusChip } from "./status.js";

export function mount(element) {
  const feed = watchRun(element.dataset.runId, { afterSeq: Number(element.dataset.afterSeq || 0) });
  const state = element.querySelector("[data-live-state]");
  if (state) bindState(state, feed);
  const status = element.querySelector("[data-run-status]");
  if (status) feed.onRun((run) => status.replaceChildren(statusChip(run.status)));
  const list = element.querySelector("[data-live-events]");
  if (list) {
    feed.subscribeBatch((events) => {
      list.append(...events.map((event) => h("li", { value: event.seq },
        `${event.type}${event.path.length ? ` ${event.path.join(".")}` : ""}`)));
    });
  }
  return feed;
}
