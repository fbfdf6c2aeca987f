// The graph widget: draws `Workflow.graph()`'s nodes and edges as they are (cytoscape, laid
// out top-down by dagre). Nested workflows are compound nodes that collapse and expand.
//
//   const view = new GraphView(container, graph, { onSelect: (key) => ... });
//   view.setStatus("payment.capture", "failed");     // colour + symbol, live
//   view.setBadge("process_record", "7/10");          // foreach progress, loop iterations
//   view.highlight(["a", "b"], "path");               // e.g. the path to the first failure
//   view.select("a"); view.fit(); view.toggle("payment");
//   view.cy                                           // the cytoscape instance, to extend
//
// Markup: templates render `<div class="graph" data-module="widgets/graph"
// data-graph="json-script-id">`; mount() builds the view and keeps it at `element.graphView`.
import cytoscape from "../vendor/cytoscape.mjs";
import dagre from "../vendor/cytoscape-dagre.mjs";
import { h, readJson } from "./dom.js";

cytoscape.use(dagre);

export const SYMBOLS = {
  success: "✓", failed: "✗", running: "●", waiting: "◷", suspended: "✎", paused: "‖",
  canceled: "⊘", skipped: "↷", pending: "○",
};
const STATUSES = Object.keys(SYMBOLS);

function cssVar(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function palette() {
  const colours = {};
  for (const status of STATUSES) {
    colours[status] = [cssVar(`--s-${status}`, "#666"), cssVar(`--s-${status}-bg`, "#eee")];
  }
  return {
    colours,
    fg: cssVar("--fg", "#222"),
    muted: cssVar("--muted", "#666"),
    border: cssVar("--border", "#ccc"),
    panel: cssVar("--panel", "#fff"),
    accent: cssVar("--accent", "#2f5fd0"),
  };
}

function label(node) {
  const status = node.data("status");
  const symbol = status ? `${SYMBOLS[status] || ""} ` : "";
  const badge = node.data("badge") ? `  ${node.data("badge")}` : "";
  const collapsed = node.hasClass("collapsed") ? `  (${node.data("hidden")} inside)` : "";
  return `${symbol}${node.data("name")}${badge}${collapsed}`;
}

function styles(p) {
  const style = [
    {
      selector: "node",
      style: {
        shape: "round-rectangle",
        label,
        "text-valign": "center",
        "text-halign": "center",
        "font-size": 13,
        "font-family": "system-ui, DejaVu Sans, sans-serif",
        color: p.fg,
        "background-color": p.panel,
        "border-width": 1.5,
        "border-color": p.border,
        width: (node) => Math.max(40, label(node).length * 7.2 + 12),
        height: 30,
        padding: 6,
      },
    },
    { selector: "node.marker", style: { shape: "diamond", width: 16, height: 16, padding: 0, label: "", "background-color": p.border } },
    {
      selector: "node:parent",
      style: {
        shape: "round-rectangle", "text-valign": "top", "text-halign": "center",
        "border-style": "dashed", "background-opacity": 0.35, padding: 14,
        "font-weight": "bold", "text-margin-y": -4,
      },
    },
    { selector: "edge.via", style: { display: "none" } },
    { selector: "edge.via.shown", style: { display: "element" } },
    { selector: "node.collapsed", style: { "border-style": "double", "border-width": 3 } },
    { selector: "node[block = 'loop'], node[block = 'foreach']", style: { "border-width": 3, "border-style": "double" } },
    { selector: "node[kind = 'sleep'], node[kind = 'sleep_until']", style: { shape: "round-tag" } },
    {
      selector: "edge",
      style: {
        width: 1.5, "line-color": p.border, "target-arrow-color": p.border,
        "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8,
        label: "data(condition)", "font-size": 10, color: p.muted,
        "text-background-color": p.panel, "text-background-opacity": 0.8,
        "text-background-padding": 2,
      },
    },
    { selector: "edge[kind = 'repeat']", style: { "curve-style": "bezier", "loop-direction": "0deg", "loop-sweep": "-60deg", "line-style": "dashed" } },
    { selector: "node:selected", style: { "border-color": p.accent, "border-width": 3, "overlay-opacity": 0 } },
    { selector: ".path", style: { "border-color": p.colours.failed[0], "line-color": p.colours.failed[0], "target-arrow-color": p.colours.failed[0], "border-width": 3, width: 3 } },
    { selector: ".dim", style: { opacity: 0.35 } },
  ];
  for (const status of STATUSES) {
    const [fg, bg] = p.colours[status];
    style.push({
      selector: `node[status = '${status}']`,
      style: { "border-color": fg, "background-color": bg, color: fg },
    });
  }
  style.push({ selector: "node[status = 'skipped']", style: { "border-style": "dashed", opacity: 0.7 } });
  return style;
}

// dagre cannot lay out an edge that ends on a compound node, so an edge into a nested workflow
// is drawn to its first steps and an edge out of it from its last ones. The edge to the
// compound itself is kept, hidden, and shown while the workflow is collapsed.
function routed(graph) {
  const edges = graph.edges || [];
  const children = new Map();
  for (const node of graph.nodes || []) {
    if (node.parent) children.set(node.parent, [...(children.get(node.parent) || []), node.key]);
  }
  const ends = (key, side) => {
    const kids = children.get(key);
    if (!kids) return [key];
    const inside = new Set(kids);
    const linked = new Set(
      edges
        .filter((e) => e.source !== e.target && inside.has(e.source) && inside.has(e.target))
        .map((e) => (side === "in" ? e.target : e.source)),
    );
    return kids.filter((k) => !linked.has(k)).flatMap((k) => ends(k, side));
  };
  const drawn = [];
  for (const edge of edges) {
    const via = [edge.source, edge.target].filter((key) => children.has(key));
    if (!via.length || edge.source === edge.target) {
      drawn.push({ ...edge, via: "" });
      continue;
    }
    drawn.push({ ...edge, via: via.join(" "), hidden: true });
    for (const source of ends(edge.source, "out")) {
      for (const target of ends(edge.target, "in")) drawn.push({ ...edge, source, target, via: "" });
    }
  }
  return drawn;
}

function elements(graph) {
  const nodes = (graph.nodes || []).map((node) => ({
    group: "nodes",
    data: {
      id: node.key,
      name: node.id,
      kind: node.kind,
      block: node.block || "",
      badge: node.block === "foreach" ? "for each" : "",
      ...(node.parent ? { parent: node.parent } : {}),
    },
    classes: node.kind === "fork" || node.kind === "join" ? "marker" : node.kind,
  }));
  const edges = routed(graph).map((edge, index) => ({
    group: "edges",
    data: {
      id: `e${index}`,
      source: edge.source,
      target: edge.target,
      kind: edge.kind || "",
      via: edge.via,
      condition: edge.kind === "repeat" ? `⟳ ${edge.condition || ""}` : edge.condition || "",
    },
    classes: edge.hidden ? "via" : "",
  }));
  return [...nodes, ...edges];
}

export class GraphView {
  constructor(container, graph, { onSelect = null, fitPadding = 24 } = {}) {
    this.container = container;
    this.fitPadding = fitPadding;
    container.querySelector(".graph-loading")?.remove();
    this.canvas = h("div", { class: "graph-canvas", role: "img", "aria-label": "Workflow graph" });
    const zoomIn = h("button", { type: "button", class: "btn btn-small", title: "Zoom in" }, "+");
    const zoomOut = h("button", { type: "button", class: "btn btn-small", title: "Zoom out" }, "−");
    const fit = h("button", { type: "button", class: "btn btn-small", title: "Fit the whole graph" }, "Fit");
    container.append(h("div", { class: "graph-tools" }, zoomIn, zoomOut, fit), this.canvas);
    this.cy = cytoscape({
      container: this.canvas,
      elements: elements(graph),
      style: styles(palette()),
      minZoom: 0.05,
      maxZoom: 3,
      boxSelectionEnabled: false,
      autoungrabify: true,
    });
    this.layout();
    zoomIn.addEventListener("click", () => this.zoom(1.25));
    zoomOut.addEventListener("click", () => this.zoom(0.8));
    fit.addEventListener("click", () => this.fit());
    this.cy.on("tap", "node", (event) => {
      const node = event.target;
      if (node.hasClass("marker")) return;
      this.select(node.id());
      if (onSelect) onSelect(node.id());
    });
    this.cy.on("dbltap", "node:parent, node.collapsed", (event) => this.toggle(event.target.id()));
    this._scheme = window.matchMedia("(prefers-color-scheme: dark)");
    this._restyle = () => this.cy.style(styles(palette()));
    this._scheme.addEventListener("change", this._restyle);
  }

  /** Lay the graph out top-down again (after collapsing or expanding). */
  layout() {
    this.cy.elements(":visible").layout({
      name: "dagre", rankDir: "TB", nodeSep: 24, rankSep: 36, edgeSep: 8,
      fit: false, animate: false,
    }).run();
    this.fit();
  }

  /** Colour a node by status (also shown as a symbol in its label). */
  setStatus(key, status) {
    const node = this.cy.getElementById(key);
    if (node.nonempty()) node.data("status", status);
  }

  /** Statuses of many nodes at once: `{key: status}`. */
  setStatuses(statuses) {
    this.cy.batch(() => {
      for (const [key, status] of Object.entries(statuses)) this.setStatus(key, status);
    });
  }

  /** A short text after a node's name (`7/10`, `×3`); "" removes it. */
  setBadge(key, text) {
    const node = this.cy.getElementById(key);
    if (node.nonempty()) node.data("badge", text || "");
  }

  /** Select one node (null: none) and bring it into view. */
  select(key) {
    this.cy.$(":selected").unselect();
    if (!key) return;
    const node = this.cy.getElementById(key);
    if (node.empty()) return;
    node.select();
    const box = this.cy.extent();
    const pos = node.renderedPosition();
    const inside = pos.x > 0 && pos.y > 0 && pos.x < this.cy.width() && pos.y < this.cy.height();
    if (!inside || !box) this.cy.center(node);
  }

  /** Mark the nodes (and the edges between them) with `className`; others are dimmed. */
  highlight(keys, className = "path") {
    this.clearHighlight(className);
    const chosen = this.cy.collection(keys.map((key) => this.cy.getElementById(key)).filter((n) => n.nonempty()));
    const edges = chosen.edgesWith(chosen);
    chosen.union(edges).addClass(className);
  }

  /** Remove a highlight. */
  clearHighlight(className = "path") {
    this.cy.elements(`.${className}`).removeClass(className);
  }

  /** Collapse a nested workflow into one node, or expand it again. */
  toggle(key) {
    const node = this.cy.getElementById(key);
    if (node.empty()) return;
    const inner = node.descendants();
    const outer = this.cy.edges(".via").filter((edge) => edge.data("via").split(" ").includes(key));
    if (node.hasClass("collapsed")) {
      node.removeClass("collapsed");
      inner.style("display", "element");
      outer.removeClass("shown");
    } else if (inner.nonempty()) {
      node.addClass("collapsed");
      node.data("hidden", inner.filter((n) => !n.hasClass("marker")).length);
      inner.style("display", "none");
      outer.addClass("shown");
    }
    this.layout();
  }

  /** Fit the whole graph in view. */
  fit() {
    this.cy.fit(this.cy.elements(":visible"), this.fitPadding);
    // A small graph is not blown up past a comfortable reading size.
    if (this.cy.zoom() > 1.25) {
      this.cy.zoom(1.25);
      this.cy.center(this.cy.elements(":visible"));
    }
  }

  /** Zoom around the centre by `factor`. */
  zoom(factor) {
    this.cy.zoom({
      level: this.cy.zoom() * factor,
      renderedPosition: { x: this.cy.width() / 2, y: this.cy.height() / 2 },
    });
  }

  /** Release the canvas and listeners. */
  destroy() {
    this._scheme.removeEventListener("change", this._restyle);
    this.cy.destroy();
  }
}

/** `data-module="widgets/graph"` with `data-graph` naming a json_script id. */
export function mount(element) {
  const graph = readJson(element.dataset.graph, { nodes: [], edges: [] });
  element.graphView = new GraphView(element, graph);
  element.dispatchEvent(new CustomEvent("graph:ready", { detail: element.graphView, bubbles: true }));
  return element.graphView;
}
