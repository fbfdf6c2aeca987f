// The compare page (templates/debugger/compare.html): the table is the server's; this draws
// the two runs' graphs side by side, each node coloured by its step's status on that side and
// the nodes whose steps differ marked, opens on the first divergence (scrolled to, selected on
// both graphs), and lets a click on a row or a node show that step on both sides.
import { readJson } from "../widgets/dom.js";
import { GraphView } from "../widgets/graph.js";

// A foreach item's record key (`proc[2].inner`) is drawn on its step's node (`proc.inner`).
const nodeKeyOf = (key) => key.replace(/\[\d+\]/g, "");

function statusesOf(side) {
  const statuses = {};
  for (const [key, status] of Object.entries(side.statuses)) {
    const node = nodeKeyOf(key);
    // An item's failure shows on its node over the others' success.
    if (!statuses[node] || status === "failed") statuses[node] = status;
  }
  return statuses;
}

export function mount(main) {
  const data = readJson("cmp-data");
  const differs = [...new Set(data.differs.map(nodeKeyOf))];
  const table = main.querySelector("[data-cmp-table]");
  const rowOf = (key) => table.querySelector(`li[data-key="${CSS.escape(key)}"]`)
    || [...table.querySelectorAll("li[data-key]")].find((row) => nodeKeyOf(row.dataset.key) === key);
  const views = {};
  const select = (key, scroll) => {
    for (const view of Object.values(views)) view.select(key ? nodeKeyOf(key) : null);
    for (const row of table.querySelectorAll("li.selected")) row.classList.remove("selected");
    const row = key ? rowOf(key) : null;
    if (row) {
      row.classList.add("selected");
      if (scroll) row.scrollIntoView({ block: "center" });
    }
  };
  table.addEventListener("click", (event) => {
    const row = event.target.closest("li[data-key]");
    if (row && !event.target.closest("a, summary, details")) select(row.dataset.key, false);
  });
  const only = main.querySelector("[data-cmp-only-diff]");
  only.addEventListener("change", () => {
    for (const row of table.querySelectorAll("li:not([data-differs])")) row.hidden = only.checked;
  });
  // The first divergence is where a reader starts: scrolled to unless the address names another place.
  if (data.first) {
    select(data.first, !window.location.hash);
    if (window.location.hash === "#cmp-first") rowOf(data.first)?.scrollIntoView({ block: "center" });
  }
  main.dataset.ready = "";
  // The graphs come after the table has painted, one a frame: a thousand-node graph takes a
  // few hundred milliseconds to lay out and draw, and the table is what the reader starts from.
  const draw = (sides) => {
    if (!sides.length) {
      main.dataset.graphsReady = "";
      return;
    }
    const side = sides[0];
    const element = main.querySelector(`[data-cmp-graph="${side}"]`);
    element.replaceChildren();
    const view = new GraphView(element, data[side].graph, {
      statuses: statusesOf(data[side]),
      onSelect: (key) => select(key, true),
    });
    view.highlight(differs, "cmp-differs");
    if (data.first) view.select(nodeKeyOf(data.first));
    views[side] = view;
    later(() => draw(sides.slice(1)));
  };
  later(() => draw(["a", "b"]));
}

function later(callback) {
  requestAnimationFrame(() => setTimeout(callback, 0));
}
