// The run page's keyboard: `j`/`k` the next and previous step in the graph's order, `Enter`
// into the open step's panel, `t` time travel from it, `[`/`]` one event back and on (the
// scrubber), `n` the next step of a paused run, `c` continue it, `b` a breakpoint on the
// step. Listed by `?` with the shortcuts of every page (widgets/keys.js).
//
//   bindRunShortcuts({ runId, widgets, select, selected });
import { addShortcuts } from "../widgets/keys.js";
import { nodeKeyOf } from "./state.js";

export function bindRunShortcuts({ runId, widgets, select, selected }) {
  const order = () => widgets.graph.view.keys();
  const move = (delta) => {
    const keys = order();
    if (!keys.length) return;
    const current = selected() ? keys.indexOf(nodeKeyOf(selected())) : -1;
    const next = current < 0 ? (delta > 0 ? 0 : keys.length - 1) : Math.min(Math.max(current + delta, 0), keys.length - 1);
    select(keys[next]);
  };
  const openPanel = () => {
    const panel = widgets.panel.element;
    const tab = panel.querySelector('[role=tab][aria-selected="true"]') || panel.querySelector("[data-show-run], h2");
    panel.scrollIntoView({ block: "nearest" });
    if (tab) {
      if (!tab.hasAttribute("tabindex")) tab.setAttribute("tabindex", "-1");
      tab.focus();
    }
  };
  const shortcuts = [
    { keys: "j", label: "Next step (graph order)", run: () => move(1) },
    { keys: "k", label: "Previous step", run: () => move(-1) },
    { keys: "Enter", label: "Open the selected step's panel", run: openPanel },
    {
      keys: "t", label: "Time travel from the selected step",
      run: () => {
        const key = selected();
        if (!key) return;
        const url = `/runs/${encodeURIComponent(runId)}/time-travel/?step=${encodeURIComponent(key)}`;
        window.location.assign(url);
      },
    },
  ];
  if (widgets.scrubber) {
    shortcuts.push(
      { keys: "[", label: "Scrubber: one event back", run: () => widgets.scrubber.step(-1) },
      { keys: "]", label: "Scrubber: one event on", run: () => widgets.scrubber.step(1) },
      { keys: "N", label: "Scrubber: back to now", run: () => widgets.scrubber.moveTo(null) },
    );
  }
  if (widgets.debug) {
    shortcuts.push(
      { keys: "n", label: "Paused: run the next step", run: () => widgets.debug.next() },
      { keys: "c", label: "Paused: continue to the next breakpoint", run: () => widgets.debug.go() },
      { keys: "b", label: "Breakpoint on the selected step (on or off)", run: () => widgets.debug.toggleSelected() },
    );
  }
  addShortcuts("This run", shortcuts);
}
