// The run page (templates/runs/detail.html): builds the run's state from the outline the server
// rendered at the run's seq, draws the graph, the timeline and the event log from it, and
// follows the run live from that seq (the shared live module catches up after a reconnect, so
// nothing is missed). One selection runs through all of them and the address (`?step=`).
import { readJson } from "../widgets/dom.js";
import { bindState, watchRun } from "../widgets/live.js";
import { Debugger } from "./debug.js";
import { EventStore } from "./event-store.js";
import { EventLog } from "./events.js";
import { RunGraph } from "./graph.js";
import { RunHeader } from "./header.js";
import { Scrubber } from "./scrubber.js";
import { bindRunShortcuts } from "./shortcuts.js";
import { RunState, inside, nodeKeyOf } from "./state.js";
import { StepPanel } from "./step-panel.js";
import { Timeline } from "./timeline.js";

function remember(key, tab) {
  const url = new URL(window.location.href);
  if (key) url.searchParams.set("step", key);
  else url.searchParams.delete("step");
  if (tab) url.searchParams.set("tab", tab);
  else url.searchParams.delete("tab");
  window.history.replaceState(window.history.state, "", url);
}

export function mount(main) {
  const data = readJson("run-data");
  const state = new RunState(data);
  const runId = data.run.run_id;
  const panelElement = main.querySelector("[data-step-panel]");
  let selected = panelElement.querySelector("[data-panel]")?.dataset.step || null;

  const widgets = {};
  const select = (key, from = null, tab = null) => {
    const changed = (key || null) !== selected;
    selected = key || null;
    if (from !== "graph") widgets.graph.select(selected);
    if (from !== "timeline") widgets.timeline.select(selected);
    if (changed || tab) widgets.panel.show(selected, tab);
    remember(selected, tab);
  };

  widgets.panel = new StepPanel(panelElement, {
    url: data.urls.panel,
    onSelect: (key, from) => select(key, from),
    onTab: (tab) => remember(selected, tab),
  });
  widgets.graph = new RunGraph(main.querySelector("[data-run-graph]"), state, { onSelect: select });
  widgets.timeline = new Timeline(main.querySelector("[data-timeline]"), state, { onSelect: select });
  const store = new EventStore(data.urls.events, state.seq);
  store.onLoad((events) => {
    // Older events describe a loop's earlier iterations, which the records no longer hold.
    if (state.addHistory(events).size) widgets.timeline.update();
  });
  widgets.events = new EventLog(main.querySelector("[data-event-log]"), store, {
    form: main.querySelector("[data-event-filters]"),
    count: main.querySelector("[data-event-count]"),
    onSelect: (key) => select(key, "events"),
  });
  widgets.header = new RunHeader(main, state, {
    data,
    onResume: () => {
      const question = state.run.status === "suspended" ? firstSuspended(state) : null;
      select(question, null, "resume");
    },
  });
  const scrubbing = main.querySelector("[data-scrubber]");
  if (scrubbing) {
    widgets.scrubber = new Scrubber(scrubbing, { live: state, graph: data.graph, urls: data.urls, store, widgets });
    if (data.at) widgets.scrubber.moveTo(data.at);
  }
  const debugBar = main.querySelector("[data-debug-bar]");
  if (debugBar) {
    widgets.debug = new Debugger(debugBar, {
      state, data, graph: widgets.graph, selected: () => selected,
      onPaused: (key, first) => {
        const scrubbed = widgets.scrubber && widgets.scrubber.at !== null;
        if (!scrubbed && !(first && selected)) select(key);
      },
    });
  }
  bindRunShortcuts({ runId, widgets, select, selected: () => selected });
  fillStepChoices(main, state);
  bindFind(main, state, select);
  if (selected) {
    widgets.graph.select(selected);
    widgets.timeline.select(selected);
  }

  const feed = watchRun(runId, { afterSeq: state.seq });
  const live = main.querySelector("[data-live-state]");
  if (live) bindState(live, feed);
  let refresh = null;
  // Batches arrive in an animation frame: everything is drawn in that same frame.
  feed.subscribeBatch((events) => {
    const changed = state.applyAll(events);
    store.append(events);
    widgets.events.update(true);
    if (widgets.scrubber) widgets.scrubber.grow();
    if (!changed.size) return;
    widgets.graph.update(changed);
    widgets.timeline.update(true);
    if (changed.has("")) {
      widgets.header.update();
      if (widgets.debug) widgets.debug.update();
    }
    // The open panel is fetched again when its step (or anything inside it) changed.
    // A run event (a resume, a cancel) may also have added to who did what, which the panel
    // brings along.
    const mine = (key) => key && (key === selected || inside(selected, key) || nodeKeyOf(key) === selected);
    const touched = changed.has("") || (selected !== null && [...changed].some(mine));
    if (touched && !refresh && !widgets.panel.at) {
      refresh = setTimeout(() => {
        refresh = null;
        widgets.panel.refresh();
      }, 300);
    }
  });
  feed.onRun((run) => {
    // A hello after a reconnect brings the run's summary (its times) up to date.
    const { started_at, finished_at, updated_at } = run;
    Object.assign(state.run, { started_at, finished_at, updated_at });
    widgets.header.update();
  });
  main.dataset.ready = "";
  window.stepbackRunPage = { state, widgets, store, feed, select };
}

function firstSuspended(state) {
  const keys = [...state.records].filter(([, r]) => r.status === "suspended").map(([k]) => k);
  return keys.find((key) => !keys.some((other) => inside(key, other))) || null;
}

function fillStepChoices(main, state) {
  const list = main.querySelector("#graph-steps");
  if (!list) return;
  const keys = [...state.nodes.values()].filter((n) => n.kind !== "fork" && n.kind !== "join").map((n) => n.key);
  list.replaceChildren(...keys.map((key) => {
    const option = document.createElement("option");
    option.value = key;
    return option;
  }));
}

function bindFind(main, state, select) {
  const input = main.querySelector("[data-graph-find]");
  if (!input) return;
  const go = () => {
    const wanted = input.value.trim();
    if (!wanted) return;
    const key = state.nodes.has(wanted)
      ? wanted
      : [...state.nodes.keys()].find((k) => k.endsWith(wanted) && !k.includes("#"));
    if (key) select(key);
    input.setCustomValidity(key ? "" : "No such step");
    input.reportValidity();
  };
  input.addEventListener("change", go);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      go();
    }
  });
}
