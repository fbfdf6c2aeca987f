// The graph widget: draws `Workflow.graph()`'s nodes and edges top-down as SVG (laid out by
// graph-layout.js from the flow's structure). Nested workflows are boxes that collapse and
// expand; colours come from the stylesheet's status variables, so dark mode just works.
//
//   const view = new GraphView(container, graph, { onSelect: (key) => ... });  // key or null
//   // options: statuses {key: status} and badges {key: [text, tone]} to draw from the start
//   view.setStatus("payment.capture", "failed");     // colour + symbol, live
//   view.setBadge("process_record", "7/10", "failed"); // foreach progress, loop iterations
//   view.highlight(["a", "b"], "path");               // e.g. the path to the first failure
//   view.select("a"); view.fit(); view.toggle("payment"); view.center("a");
//
// Drag (or the arrow keys) to pan, Ctrl/⌘ + wheel or pinch (or + and −) to zoom, 0 to fit.
// Markup: templates render `<div class="graph" data-module="widgets/graph"
// data-graph="json-script-id">`; mount() builds the view and keeps it at `element.graphView`.
import { h, readJson } from "./dom.js";
import { SIZES, elbow, flowsOf, layout } from "./graph-layout.js";

export const SYMBOLS = {
  success: "✓", failed: "✗", running: "●", waiting: "◷", suspended: "✎", paused: "‖",
  canceled: "⊘", skipped: "↷", pending: "○",
};
const NS = "http://www.w3.org/2000/svg";
const FONT_PX = 13;
const FAR_ZOOM = 0.45; // below this, labels are not drawn (boxes and colours stay)
const MIN_ZOOM = 0.02;
const MAX_ZOOM = 3;
const TOOLS = 34; // px at the top of the canvas taken by the zoom buttons
let instances = 0;

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined && value !== false) element.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) element.append(child);
  }
  return element;
}

let measureContext = null;
const charWidths = new Map();
// A label's width as the sum of its characters' (each measured once): near enough for boxes,
// and a thousand labels cost a few hundred measurements instead of a thousand.
function textWidth(text) {
  if (!measureContext) {
    measureContext = document.createElement("canvas").getContext("2d");
    const family = getComputedStyle(document.body).fontFamily || "sans-serif";
    measureContext.font = `${FONT_PX}px ${family}`;
  }
  let width = 0;
  for (const char of text) {
    let w = charWidths.get(char);
    if (w === undefined) {
      w = measureContext.measureText(char).width;
      charWidths.set(char, w);
    }
    width += w;
  }
  return width;
}

function truncate(text, room) {
  if (textWidth(text) <= room) return text;
  let cut = text;
  while (cut.length > 1 && textWidth(`${cut}…`) > room) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export class GraphView {
  constructor(container, graph, { onSelect = null, fitPadding = 24, statuses = {}, badges = {} } = {}) {
    this.container = container;
    this.fitPadding = fitPadding;
    this.onSelect = onSelect;
    this.uid = ++instances;
    this.nodes = new Map(); // key -> {data, status, badge, tone, collapsed, classes, children}
    for (const node of graph.nodes || []) {
      this.nodes.set(node.key, {
        data: node, status: "", badge: "", tone: "", collapsed: false, classes: new Set(), children: 0,
      });
    }
    for (const node of graph.nodes || []) {
      if (node.parent && this.nodes.has(node.parent)) this.nodes.get(node.parent).children += 1;
    }
    // What the nodes show from the start is drawn with them (not painted over afterwards).
    for (const [key, status] of Object.entries(statuses)) {
      if (this.nodes.has(key)) this.nodes.get(key).status = status || "";
    }
    for (const [key, [text, tone]] of Object.entries(badges)) {
      if (this.nodes.has(key)) Object.assign(this.nodes.get(key), { badge: text || "", tone: tone || "" });
    }
    this.edges = (graph.edges || []).filter((e) => this.nodes.has(e.source) && this.nodes.has(e.target));
    this.flows = flowsOf(graph);
    this.selected = null;
    this.view = { k: 1, x: 0, y: 0 };
    this.touched = false; // the reader moved or zoomed: keep the view on resize

    container.querySelector(".graph-loading")?.remove();
    const zoomIn = h("button", { type: "button", class: "btn btn-small", title: "Zoom in (+)" }, "+");
    const zoomOut = h("button", { type: "button", class: "btn btn-small", title: "Zoom out (−)" }, "−");
    const fit = h("button", { type: "button", class: "btn btn-small", title: "Fit the whole graph (0)" }, "Fit");
    this.tools = h("div", { class: "graph-tools" }, zoomIn, zoomOut, fit);
    if ([...this.nodes.values()].some((n) => n.children)) {
      const fold = h("button", { type: "button", class: "btn btn-small", title: "Collapse or expand every nested workflow" }, "Fold all");
      fold.addEventListener("click", () => {
        const anyOpen = [...this.nodes.values()].some((n) => n.children && !n.collapsed);
        if (anyOpen) this.collapseAll();
        else this.expandAll();
        fold.textContent = anyOpen ? "Unfold all" : "Fold all";
      });
      this.tools.append(fold);
    }
    zoomIn.addEventListener("click", () => this.zoom(1.25));
    zoomOut.addEventListener("click", () => this.zoom(0.8));
    fit.addEventListener("click", () => this.fit());

    this.svg = svg("svg", {
      class: "graph-svg", role: "img", tabindex: "0",
      "aria-label": `Workflow graph: ${[...this.nodes.values()].filter((n) => !this.isMarker(n)).length} steps`,
    });
    const arrow = (id, cls) => svg("marker", {
      id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "9", markerHeight: "9",
      markerUnits: "userSpaceOnUse", orient: "auto-start-reverse",
    }, svg("path", { d: "M0,0L10,5L0,10z", class: cls }));
    this.svg.append(svg("defs", {}, arrow(`g${this.uid}-arrow`, "g-arrow"), arrow(`g${this.uid}-arrow-path`, "g-arrow g-arrow-path")));
    this.viewport = svg("g", { class: "g-viewport" });
    this.svg.append(this.viewport);
    this.canvas = h("div", { class: "graph-canvas" });
    this.canvas.append(this.svg);
    container.append(this.tools, this.canvas);
    // The canvas size is read once here (before the drawing makes layout costly) and then kept
    // up to date by the observer: reading it on every move would lay out the whole drawing.
    this.box = { width: this.canvas.clientWidth, height: this.canvas.clientHeight };
    this._bindPointer();
    this.layout();
    this._resize = new ResizeObserver(([entry]) => {
      const size = entry.contentRect;
      if (size.width === this.box.width && size.height === this.box.height) return;
      this.box = { width: size.width, height: size.height };
      if (!this.touched) this.home();
    });
    this._resize.observe(this.canvas);
  }

  isMarker(node) {
    return node.data.kind === "fork" || node.data.kind === "join";
  }

  /** Node keys in flow order (markers left out): what keyboard navigation walks. */
  keys() {
    return [...this.nodes.values()].filter((n) => !this.isMarker(n)).map((n) => n.data.key);
  }

  _hidden(key) {
    let parent = this.nodes.get(key)?.data.parent;
    while (parent) {
      const node = this.nodes.get(parent);
      if (!node) return false;
      if (node.collapsed) return true;
      parent = node.data.parent;
    }
    return false;
  }

  _text(node) {
    const symbol = node.status ? SYMBOLS[node.status] || "○" : "";
    const name = node.data.id || node.data.key;
    const folded = node.collapsed ? ` ⊞ ${node.children}` : "";
    return `${symbol ? `${symbol} ` : ""}${name}${folded}`;
  }

  _labelWidth(node) {
    // Room for any status symbol, so a status change never moves the layout.
    const name = node.data.id || node.data.key;
    const folded = node.collapsed ? ` ⊞ ${node.children}` : "";
    return textWidth(`● ${name}${folded}`);
  }

  /** Lay the graph out and draw it again (after collapsing or expanding); `keep` leaves the
   * view where it is instead of going back to the opening one. */
  layout(keep = false) {
    const s = SIZES;
    const info = (key) => {
      const node = this.nodes.get(key);
      const width = Math.min(Math.max(this._labelWidth(node) + 2 * s.padX, s.minWidth), s.maxWidth);
      return {
        width,
        compound: node.children > 0,
        collapsed: node.collapsed,
        loop: node.data.block === "loop",
      };
    };
    const placed = layout(this.flows, info);
    this.size = { width: placed.width, height: placed.height };
    this.boxes = placed.boxes;
    this._draw();
    if (!keep) this.home();
  }

  _draw() {
    const boxesLayer = svg("g", { class: "g-boxes" });
    const edgesLayer = svg("g", { class: "g-edges" });
    const nodesLayer = svg("g", { class: "g-nodes" });
    for (const [key, node] of this.nodes) {
      node.el = null;
      const box = this.boxes.get(key);
      if (!box || this._hidden(key)) continue;
      const open = node.children > 0 && !node.collapsed;
      const el = this._nodeElement(node, box, open);
      node.el = el;
      (open ? boxesLayer : nodesLayer).append(el);
    }
    for (const edge of this.edges) {
      edge.el = null;
      const a = this.boxes.get(edge.source);
      const b = this.boxes.get(edge.target);
      if (!a || !b || this._hidden(edge.source) || this._hidden(edge.target)) continue;
      edge.el = this._edgeElement(edge, a, b);
      if (edge.el) edgesLayer.append(edge.el);
    }
    this.viewport.replaceChildren(boxesLayer, edgesLayer, nodesLayer);
    for (const node of this.nodes.values()) this._paint(node);
    for (const edge of this.edges) this._paintEdge(edge);
  }

  _nodeElement(node, box, open) {
    const data = node.data;
    const marker = this.isMarker(node);
    const el = svg("g", {
      class: `g-node${marker ? " g-marker" : ""}${open ? " g-compound" : ""}`,
      transform: `translate(${box.x},${box.y})`,
      "data-key": data.key,
      "data-kind": data.kind,
      "data-block": data.block || null,
    });
    node.title = null; // made when the pointer first goes over the node (see _bindPointer)
    node.badgeEl = null;
    if (marker) {
      const m = box.w / 2;
      el.append(svg("path", { class: "g-shape", d: `M${m},0L${box.w},${m}L${m},${box.h}L0,${m}Z` }));
      return el;
    }
    if (data.block === "foreach" && !open) {
      el.append(svg("rect", { class: "g-stack", x: 4, y: 4, width: box.w, height: box.h, rx: 7 }));
    }
    const round = data.kind === "sleep" || data.kind === "sleep_until" ? box.h / 2 : 7;
    el.append(svg("rect", { class: "g-shape", width: box.w, height: box.h, rx: open ? 9 : round }));
    const room = open ? box.w - 2 * SIZES.padX - 24 : box.w - 2 * SIZES.padX;
    node.label = svg("text", open
      ? { class: "g-label g-title", x: SIZES.padX, y: 17 }
      : { class: "g-label", x: box.w / 2, y: box.h / 2 + 4.5, "text-anchor": "middle" });
    node.room = room;
    el.append(node.label);
    if (node.children) {
      el.append(svg("text", { class: "g-toggle", x: box.w - 20, y: 17, "data-toggle": data.key }, node.collapsed ? "⊞" : "⊟"));
    }
    node.width = box.w;
    if (data.block === "loop") {
      const x = box.w;
      const y = box.h;
      el.append(svg("path", {
        class: "g-edge g-repeat",
        d: `M${x},${y * 0.72}C${x + 30},${y * 0.95} ${x + 30},${y * 0.05} ${x},${y * 0.28}`,
        "marker-end": `url(#g${this.uid}-arrow)`,
      }));
    }
    return el;
  }

  _edgeElement(edge, a, b) {
    if (edge.source === edge.target) return null; // a loop's repeat edge is drawn with its node
    const x1 = a.x + a.w / 2;
    const y1 = a.y + a.h;
    const x2 = b.x + b.w / 2;
    const y2 = b.y;
    const toJoin = this.nodes.get(edge.target).data.kind === "join";
    const bend = toJoin ? y2 - SIZES.gapY / 2 : y1 + SIZES.gapY / 2;
    const path = svg("path", { class: "g-edge", d: elbow(x1, y1, x2, y2 - 1, bend), "marker-end": `url(#g${this.uid}-arrow)` });
    if (!edge.condition || edge.kind === "repeat") return path;
    // Above the bend, over the arm it leads to.
    const label = svg("text", { class: "g-edge-label", x: x2, y: bend - 4, "text-anchor": "middle" });
    label.textContent = edge.condition;
    return svg("g", { class: "g-edge-group" }, path, label);
  }

  _describe(node) {
    const data = node.data;
    if (this.isMarker(node)) return `${data.block === "branch" ? "branch" : "parallel"} ${data.kind}`;
    return [data.key, node.status || "not run", node.badge, data.description].filter(Boolean).join(" · ");
  }

  _paint(node) {
    const el = node.el;
    if (!el) return; // inside a collapsed workflow: painted when it is drawn
    if (node.status) el.dataset.status = node.status;
    else delete el.dataset.status;
    el.setAttribute("class", [
      "g-node",
      this.isMarker(node) ? "g-marker" : "",
      node.children && !node.collapsed ? "g-compound" : "",
      node.data.key === this.selected ? "selected" : "",
      ...node.classes,
    ].filter(Boolean).join(" "));
    if (node.title) node.title.textContent = this._describe(node);
    if (this.isMarker(node)) return;
    if (node.label) node.label.textContent = truncate(this._text(node), node.room);
    if (node.badgeEl) {
      node.badgeEl.remove();
      node.badgeEl = null;
    }
    if (node.badge) {
      // Drawn only where there is one: a thousand empty groups would cost the page its speed.
      const width = textWidth(node.badge) * 0.85 + 10;
      node.badgeEl = svg("g", { class: "g-badge", transform: `translate(${node.width - 6},-9)`, "data-tone": node.tone || null },
        svg("rect", { x: -width, y: 0, width, height: 17, rx: 8.5 }),
        svg("text", { x: -width / 2, y: 12.5, "text-anchor": "middle" }, document.createTextNode(node.badge)));
      el.append(node.badgeEl);
    }
  }

  _paintEdge(edge) {
    if (!edge.el) return;
    const classes = edge.classes ? [...edge.classes] : [];
    const path = edge.el.tagName === "path" ? edge.el : edge.el.querySelector(".g-edge");
    const group = edge.el === path ? null : edge.el;
    const highlighted = classes.includes("path");
    if (group) group.setAttribute("class", ["g-edge-group", ...classes].join(" "));
    path.setAttribute("class", ["g-edge", ...(group ? [] : classes)].join(" "));
    path.setAttribute("marker-end", `url(#g${this.uid}-arrow${highlighted ? "-path" : ""})`);
  }

  /** Colour a node by status (also shown as a symbol in its label); "" clears it. */
  setStatus(key, status) {
    const node = this.nodes.get(key);
    if (!node || node.status === (status || "")) return;
    node.status = status || "";
    this._paint(node);
  }

  /** Statuses of many nodes at once: `{key: status}`. */
  setStatuses(statuses) {
    for (const [key, status] of Object.entries(statuses)) this.setStatus(key, status);
  }

  /** A short text on a node's corner (`7/10`, `×3`); "" removes it. `tone` a status colour. */
  setBadge(key, text, tone = "") {
    const node = this.nodes.get(key);
    if (!node || (node.badge === (text || "") && node.tone === tone)) return;
    node.badge = text || "";
    node.tone = tone;
    this._paint(node);
  }

  /** Select one node (null: none) and bring it into view. */
  select(key) {
    const before = this.selected;
    this.selected = key && this.nodes.has(key) ? key : null;
    for (const k of [before, this.selected]) if (k && this.nodes.has(k)) this._paint(this.nodes.get(k));
    if (!this.selected) return;
    if (this._hidden(this.selected)) this._reveal(this.selected);
    if (!this._inView(this.selected)) this.center(this.selected);
  }

  _reveal(key) {
    let parent = this.nodes.get(key).data.parent;
    let changed = false;
    while (parent) {
      const node = this.nodes.get(parent);
      if (node.collapsed) {
        node.collapsed = false;
        changed = true;
      }
      parent = node.data.parent;
    }
    if (changed) this.layout();
  }

  _inView(key) {
    const box = this.boxes.get(key);
    if (!box) return false;
    const { k, x, y } = this.view;
    const rect = this.box;
    const left = box.x * k + x;
    const top = box.y * k + y;
    return left >= 0 && top >= 0 && left + box.w * k <= rect.width && top + box.h * k <= rect.height;
  }

  /** Mark the nodes (and the edges between them) with `className`. */
  highlight(keys, className = "path") {
    this.clearHighlight(className);
    const chosen = new Set(keys.filter((key) => this.nodes.has(key)));
    for (const key of chosen) {
      const node = this.nodes.get(key);
      node.classes.add(className);
      this._paint(node);
    }
    for (const edge of this.edges) {
      if (chosen.has(edge.source) && chosen.has(edge.target)) {
        edge.classes = new Set([...(edge.classes || []), className]);
        this._paintEdge(edge);
      }
    }
  }

  /** Remove a highlight. */
  clearHighlight(className = "path") {
    for (const node of this.nodes.values()) {
      if (node.classes.delete(className)) this._paint(node);
    }
    for (const edge of this.edges) {
      if (edge.classes && edge.classes.delete(className)) this._paintEdge(edge);
    }
  }

  /** The keys a node's incoming edges come from (its predecessors in the flow). */
  predecessors(key) {
    return this.edges.filter((e) => e.target === key && e.source !== key).map((e) => e.source);
  }

  /** Collapse a nested workflow into one node, or expand it again. */
  toggle(key) {
    const node = this.nodes.get(key);
    if (!node || !node.children) return;
    node.collapsed = !node.collapsed;
    if (node.collapsed && this.selected && this._hidden(this.selected)) this.selected = key;
    this.layout(true);
    this.center(key); // the box the reader folded stays under their eyes
  }

  /** Collapse every nested workflow. */
  collapseAll() {
    for (const node of this.nodes.values()) if (node.children) node.collapsed = true;
    this.layout();
  }

  /** Expand every nested workflow. */
  expandAll() {
    for (const node of this.nodes.values()) node.collapsed = false;
    this.layout();
  }

  _apply() {
    const { k, x, y } = this.view;
    this.viewport.setAttribute("transform", `translate(${x},${y}) scale(${k})`);
    this.svg.classList.toggle("far", k < FAR_ZOOM);
  }

  _fitScale() {
    const rect = this.box;
    const p = this.fitPadding;
    return {
      rect,
      k: Math.min((rect.width - 2 * p) / this.size.width, (rect.height - TOOLS - 2 * p) / this.size.height, 1.25),
    };
  }

  /** The opening view: the whole graph when it is readable so, else its top at reading size. */
  home() {
    const { rect, k } = this._fitScale();
    if (!rect.width || !rect.height) return;
    if (k >= FAR_ZOOM + 0.1) {
      this.fit();
    } else {
      this.view = { k: 1, x: (rect.width - this.size.width) / 2, y: TOOLS };
      if (this.size.width > rect.width) this.view.x = 0;
      this._apply();
      if (this.selected) this.center(this.selected);
    }
  }

  /** Fit the whole graph in view. */
  fit() {
    const { rect, k } = this._fitScale();
    if (!rect.width || !rect.height) return;
    const scale = Math.max(Math.min(k, MAX_ZOOM), MIN_ZOOM);
    this.view = {
      k: scale,
      x: (rect.width - this.size.width * scale) / 2,
      // Centred in the room below the buttons, which sit over the top of the canvas.
      y: TOOLS + (rect.height - TOOLS - this.size.height * scale) / 2,
    };
    this._apply();
  }

  /** Bring a node to the middle of the view (at reading size if the view is too far out). */
  center(key) {
    const box = this.boxes.get(key);
    if (!box) return;
    const rect = this.box;
    const k = Math.max(this.view.k, Math.min(1, FAR_ZOOM + 0.35));
    this.view = { k, x: rect.width / 2 - (box.x + box.w / 2) * k, y: rect.height / 2 - (box.y + box.h / 2) * k };
    this._apply();
  }

  /** Zoom by `factor` around a point of the canvas (its centre by default). */
  zoom(factor, at = null) {
    const rect = this.box;
    const px = at ? at.x : rect.width / 2;
    const py = at ? at.y : rect.height / 2;
    const k = Math.min(Math.max(this.view.k * factor, MIN_ZOOM), MAX_ZOOM);
    const ratio = k / this.view.k;
    this.view = { k, x: px - (px - this.view.x) * ratio, y: py - (py - this.view.y) * ratio };
    this.touched = true;
    this._apply();
  }

  pan(dx, dy) {
    this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
    this.touched = true;
    this._apply();
  }

  _bindPointer() {
    const pointers = new Map();
    let dragged = false;
    let pinch = null;
    const local = (event) => {
      const rect = this.canvas.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    };
    this.svg.addEventListener("pointerover", (event) => {
      const el = event.target.closest(".g-node");
      const node = el && this.nodes.get(el.dataset.key);
      if (!node || node.title) return;
      node.title = svg("title");
      node.title.textContent = this._describe(node);
      el.prepend(node.title);
    });
    this.svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      pointers.set(event.pointerId, local(event));
      dragged = false;
      if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        pinch = { distance: Math.hypot(a.x - b.x, a.y - b.y) };
      }
    });
    this.svg.addEventListener("pointermove", (event) => {
      const before = pointers.get(event.pointerId);
      if (!before) return;
      const now = local(event);
      if (pointers.size === 2 && pinch) {
        pointers.set(event.pointerId, now);
        const [a, b] = [...pointers.values()];
        const distance = Math.hypot(a.x - b.x, a.y - b.y);
        if (pinch.distance > 0) this.zoom(distance / pinch.distance, { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
        pinch.distance = distance;
        dragged = true;
        return;
      }
      const dx = now.x - before.x;
      const dy = now.y - before.y;
      if (!dragged && Math.hypot(dx, dy) < 4) return;
      if (!dragged) this.svg.setPointerCapture(event.pointerId);
      dragged = true;
      pointers.set(event.pointerId, now);
      this.pan(dx, dy);
    });
    const release = (event) => {
      pointers.delete(event.pointerId);
      if (pointers.size < 2) pinch = null;
    };
    this.svg.addEventListener("pointerup", release);
    this.svg.addEventListener("pointercancel", release);
    this.svg.addEventListener("click", (event) => {
      if (dragged) {
        dragged = false;
        return;
      }
      const toggle = event.target.closest("[data-toggle]");
      if (toggle) {
        this.toggle(toggle.dataset.toggle);
        return;
      }
      const el = event.target.closest(".g-node");
      const key = el && !el.classList.contains("g-marker") ? el.dataset.key : null;
      this.select(key);
      if (this.onSelect) this.onSelect(key);
    });
    this.svg.addEventListener("dblclick", (event) => {
      const el = event.target.closest(".g-node");
      if (el && this.nodes.get(el.dataset.key)?.children) this.toggle(el.dataset.key);
    });
    this.svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      if (event.ctrlKey || event.metaKey) this.zoom(Math.exp(-event.deltaY * 0.004), local(event));
      else this.pan(-event.deltaX, -event.deltaY);
    }, { passive: false });
    this.svg.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] };
      if (moves[event.key]) this.pan(...moves[event.key]);
      else if (event.key === "+" || event.key === "=") this.zoom(1.25);
      else if (event.key === "-") this.zoom(0.8);
      else if (event.key === "0") this.fit();
      else return;
      event.preventDefault();
    });
  }

  /** Release the listeners. */
  destroy() {
    this._resize.disconnect();
    this.container.replaceChildren();
  }
}

/** `data-module="widgets/graph"` with `data-graph` naming a json_script id. */
export function mount(element) {
  const graph = readJson(element.dataset.graph, { nodes: [], edges: [] });
  element.graphView = new GraphView(element, graph);
  element.dispatchEvent(new CustomEvent("graph:ready", { detail: element.graphView, bubbles: true }));
  return element.graphView;
}
