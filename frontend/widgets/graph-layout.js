// Where each node of `Workflow.graph()` goes, top-down, from the flow's own structure rather
// than a general graph layout: a flow is a column of its entries; a parallel or branch block is
// its fork, its arms side by side, and its join; a nested workflow is a box around its own flow
// (or one node while it is collapsed). Linear in the number of nodes, so a thousand-step run is
// laid out in a few milliseconds.

export const SIZES = {
  nodeHeight: 32,
  padX: 14, // inside a node, either side of its label
  gapY: 26, // between entries of a flow
  gapX: 28, // between arms of a block
  mark: 14, // fork and join diamonds
  boxPad: 14, // inside a nested workflow's box
  title: 26, // a nested workflow's title bar
  loop: 34, // room beside a loop for its repeat edge
  minWidth: 64,
  maxWidth: 280,
};

const MARKERS = new Set(["fork", "join"]);

/** The flows of a graph: for each parent key ("" for the top level) its entries in order,
 * each `{node: key}` or `{fork, join, arms: [keys]}`. */
export function flowsOf(graph) {
  const byParent = new Map();
  for (const node of graph.nodes || []) {
    const parent = node.parent || "";
    if (!byParent.has(parent)) byParent.set(parent, new Map());
    const entries = byParent.get(parent);
    // A node without an entry index (an older graph) is an entry of its own.
    const slot = node.entry === undefined || node.entry === null ? `#${node.key}` : node.entry;
    if (!entries.has(slot)) entries.set(slot, []);
    entries.get(slot).push(node);
  }
  const flows = new Map();
  for (const [parent, entries] of byParent) {
    const list = [];
    for (const group of entries.values()) {
      const fork = group.find((n) => n.kind === "fork");
      const join = group.find((n) => n.kind === "join");
      const arms = group.filter((n) => !MARKERS.has(n.kind)).map((n) => n.key);
      if (fork || join || arms.length > 1) {
        list.push({ fork: fork ? fork.key : null, join: join ? join.key : null, arms });
      } else if (arms.length === 1) {
        list.push({ node: arms[0] });
      }
    }
    flows.set(parent, list);
  }
  return flows;
}

/**
 * Lay the graph out. `info(key)` answers `{width, compound, collapsed, loop}` for a node
 * (width: of its label box). Returns a Map key -> {x, y, w, h} (top-left corner) for every
 * visible node, and the drawing's {width, height}.
 */
export function layout(flows, info) {
  const boxes = new Map();
  const sizes = new Map();
  const s = SIZES;

  const slotWidth = (key) => sizes.get(key).w + (info(key).loop ? 2 * s.loop : 0);

  function measureNode(key) {
    const node = info(key);
    let size;
    if (node.compound && !node.collapsed && flows.has(key)) {
      const inner = measureFlow(key);
      size = {
        w: Math.max(inner.w + 2 * s.boxPad, node.width + 2 * s.padX + 24),
        h: s.title + inner.h + s.boxPad,
      };
    } else {
      size = { w: node.width, h: s.nodeHeight };
    }
    sizes.set(key, size);
    return size;
  }

  function measureEntry(entry) {
    if (entry.node) {
      measureNode(entry.node);
      return { w: slotWidth(entry.node), h: sizes.get(entry.node).h };
    }
    let w = 0;
    let h = 0;
    entry.arms.forEach((arm, index) => {
      measureNode(arm);
      w += slotWidth(arm) + (index ? s.gapX : 0);
      h = Math.max(h, sizes.get(arm).h);
    });
    const size = { w: Math.max(w, s.mark), h: s.mark + s.gapY + h + s.gapY + s.mark, armsHeight: h };
    entry.size = size;
    return size;
  }

  function measureFlow(parent) {
    let w = 0;
    let h = 0;
    const entries = flows.get(parent) || [];
    entries.forEach((entry, index) => {
      const size = measureEntry(entry);
      entry.measured = size;
      w = Math.max(w, size.w);
      h += size.h + (index ? s.gapY : 0);
    });
    return { w, h };
  }

  function placeNode(key, cx, y) {
    const size = sizes.get(key);
    boxes.set(key, { x: cx - size.w / 2, y, w: size.w, h: size.h });
    const node = info(key);
    if (node.compound && !node.collapsed && flows.has(key)) placeFlow(key, cx, y + s.title);
  }

  function placeEntry(entry, cx, y) {
    if (entry.node) {
      placeNode(entry.node, cx, y);
      return;
    }
    const size = entry.size;
    if (entry.fork) boxes.set(entry.fork, { x: cx - s.mark / 2, y, w: s.mark, h: s.mark });
    const top = y + s.mark + s.gapY;
    let x = cx - size.w / 2;
    for (const arm of entry.arms) {
      const slot = slotWidth(arm);
      placeNode(arm, x + slot / 2, top);
      x += slot + s.gapX;
    }
    if (entry.join) {
      boxes.set(entry.join, { x: cx - s.mark / 2, y: top + size.armsHeight + s.gapY, w: s.mark, h: s.mark });
    }
  }

  function placeFlow(parent, cx, y) {
    let top = y;
    for (const entry of flows.get(parent) || []) {
      placeEntry(entry, cx, top);
      top += entry.measured.h + s.gapY;
    }
  }

  const whole = measureFlow("");
  const margin = s.loop + 8;
  placeFlow("", margin + whole.w / 2, 8);
  return { boxes, width: whole.w + 2 * margin, height: whole.h + 16 };
}

/** An orthogonal path from (x1, y1) down to (x2, y2), turning at `bendY`, corners rounded. */
export function elbow(x1, y1, x2, y2, bendY) {
  if (Math.abs(x1 - x2) < 0.5) return `M${x1},${y1}V${y2}`;
  const r = Math.min(6, Math.abs(x2 - x1) / 2, Math.abs(bendY - y1), Math.abs(y2 - bendY));
  const dx = x2 > x1 ? r : -r;
  return (
    `M${x1},${y1}V${bendY - r}Q${x1},${bendY} ${x1 + dx},${bendY}` +
    `H${x2 - dx}Q${x2},${bendY} ${x2},${bendY + r}V${y2}`
  );
}
