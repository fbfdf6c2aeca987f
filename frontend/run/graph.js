// The run's graph: the graph widget coloured from the run's state. Nodes take their step's
// status (a foreach node the most telling of its items'), loops show their iteration and
// foreach nodes their progress (`7/10 · ✗1`), branch arms the run did not take are skipped,
// and the path to the first failure is highlighted.
//
//   const graph = new RunGraph(element, state, { onSelect });
//   graph.update(changedKeys);  // after state.apply(); null redraws everything
//   graph.select(key);
import { h } from "../widgets/dom.js";
import { GraphView } from "../widgets/graph.js";
import { ACTIVE, nodeKeyOf } from "./state.js";

export class RunGraph {
  constructor(element, state, { onSelect }) {
    this.state = state;
    this.branches = this._branches(state.graph);
    const statuses = {};
    const badges = {};
    for (const key of state.nodes.keys()) {
      statuses[key] = state.nodeStatus(key);
      const { text, tone } = state.badge(key);
      if (text) badges[key] = [text, tone];
    }
    for (const key of this._skipped()) statuses[key] = "skipped";
    this.view = new GraphView(element, state.graph, {
      onSelect: (key) => onSelect(key, "graph"), statuses, badges,
    });
    this.failure = null;
    this._showFailure();
    // Stacked on a narrow screen, the graph takes the height it needs (up to 60% of it).
    if (window.matchMedia("(max-width: 1000px)").matches) {
      const wanted = this.view.size.height * Math.min(1, (element.clientWidth - 48) / this.view.size.width) + 80;
      element.style.height = `${Math.round(Math.min(Math.max(wanted, 224), window.innerHeight * 0.6))}px`;
    }
    if (!state.nodes.size) {
      element.append(h("p", { class: "empty-note graph-empty" },
        "This run has no stored graph (it was recorded without one): its steps are in the timeline and the event log."));
    }
  }

  // Each branch block: its arms, the keys after its join, and the workflow holding it.
  _branches(graph) {
    const blocks = new Map();
    for (const node of graph.nodes || []) {
      if (node.block !== "branch" || node.kind === "fork" || node.kind === "join") continue;
      const id = `${node.parent || ""}#${node.entry}`;
      if (!blocks.has(id)) {
        const join = `${node.parent ? `${node.parent}.` : ""}#${node.entry}-join`;
        const after = (graph.edges || []).filter((e) => e.source === join).map((e) => e.target);
        blocks.set(id, { arms: [], after, parent: node.parent || null });
      }
      blocks.get(id).arms.push(node.key);
    }
    return [...blocks.values()];
  }

  _skipped() {
    const state = this.state;
    const skipped = new Set();
    const runActive = ACTIVE.includes(state.run.status);
    for (const block of this.branches) {
      if (!block.arms.some((arm) => state.reached(arm))) continue;
      const parentDone = block.parent && !ACTIVE.includes(state.nodeStatus(block.parent) || "running");
      const over = !runActive || parentDone || block.after.some((key) => state.reached(key));
      if (!over) continue;
      for (const arm of block.arms) if (!state.reached(arm)) skipped.add(arm);
    }
    return skipped;
  }

  /** Repaint the nodes of `changed` record keys (every node when null). */
  update(changed) {
    const state = this.state;
    const nodes = changed === null
      ? [...state.nodes.keys()]
      : [...new Set([...changed].filter(Boolean).map(nodeKeyOf))];
    for (const key of nodes) {
      this.view.setStatus(key, state.nodeStatus(key));
      const { text, tone } = state.badge(key);
      this.view.setBadge(key, text, tone);
    }
    if (this.branches.length) {
      for (const key of this._skipped()) this.view.setStatus(key, "skipped");
    }
    this._showFailure();
  }

  _showFailure() {
    const first = this.state.firstFailure();
    const key = first ? nodeKeyOf(first) : null;
    if (key === this.failure) return;
    this.failure = key;
    if (!key) {
      this.view.clearHighlight("path");
      return;
    }
    this.view.highlight(this.pathTo(key), "path");
  }

  /** The nodes the run went through to reach `key`: its executed predecessors back to the
   * start (through forks and joins, into and out of nested workflows), and the workflows
   * around it. */
  pathTo(key) {
    const state = this.state;
    const keep = new Set();
    const queue = [key];
    while (queue.length) {
      const current = queue.pop();
      if (keep.has(current)) continue;
      keep.add(current);
      const node = state.nodes.get(current);
      let before = this.view.predecessors(current);
      if (!before.length && node && node.parent) before = [node.parent]; // first step inside
      for (const previous of before) {
        const kind = state.nodes.get(previous)?.kind;
        if (kind === "fork" || kind === "join" || state.reached(previous)) queue.push(previous);
      }
    }
    let parent = state.nodes.get(key)?.parent;
    while (parent) {
      keep.add(parent);
      parent = state.nodes.get(parent)?.parent;
    }
    return [...keep];
  }

  /** Select a record key's node (null: none). */
  select(key) {
    this.view.select(key ? nodeKeyOf(key) : null);
  }
}
