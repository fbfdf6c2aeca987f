// JSON blocks: collapsible trees with a copy button. The server renders
// templates/partials/json.html (a <pre> of indented JSON); mount() turns it into a tree.
// jsonView(value) builds the same block in the browser (for data that arrives live).
import { copyButton, h } from "./dom.js";

const TREE_LIMIT = 200000;

/** Upgrade a server-rendered `.json-block` (data-module="widgets/json-view"). */
export function mount(block) {
  const pre = block.querySelector("pre.json-raw");
  const copy = block.querySelector("[data-copy]");
  if (copy) {
    const fresh = copyButton(() => pre.textContent);
    copy.replaceWith(fresh);
  }
  if (!pre || block.hasAttribute("data-plain")) return;
  let value;
  try {
    value = JSON.parse(pre.textContent);
  } catch {
    return; // not JSON after all: the text stays as it is
  }
  const depth = Number(block.dataset.collapsedDepth || 2);
  pre.replaceWith(tree(value, depth));
}

/** A JSON block for `value`: copy button, optional label, tree folded below `collapsedDepth`. */
export function jsonView(value, { label = "", collapsedDepth = 2 } = {}) {
  const text = JSON.stringify(value === undefined ? null : value, null, 2);
  const tools = h("div", { class: "json-tools" },
    label ? h("span", { class: "muted json-label" }, label) : null,
    copyButton(() => text));
  const body = text.length > TREE_LIMIT
    ? h("pre", { class: "json-raw" }, text)
    : tree(value === undefined ? null : value, collapsedDepth);
  return h("div", { class: "json-block" }, tools, body);
}

function tree(value, collapsedDepth) {
  const root = h("div", { class: "json-tree", role: "tree" });
  root.append(node(value, null, 0, collapsedDepth));
  return root;
}

function scalar(value) {
  const kind = value === null ? "null" : typeof value;
  const text = kind === "string" ? JSON.stringify(value) : String(value);
  return h("span", { class: `jt-${kind}` }, text);
}

function node(value, key, depth, collapsedDepth) {
  const label = key === null ? null : h("span", { class: "jt-key" }, `${JSON.stringify(key)}: `);
  if (value === null || typeof value !== "object") {
    return h("div", { role: "treeitem" }, label, scalar(value));
  }
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (!entries.length) return h("div", { role: "treeitem" }, label, `${open}${close}`);
  const count = `${entries.length} ${isArray ? "item" : "key"}${entries.length === 1 ? "" : "s"}`;
  const details = h("details", { role: "treeitem" });
  details.open = depth < collapsedDepth;
  details.append(
    h("summary", {}, label, open, h("span", { class: "jt-count" }, ` ${count} `), close),
  );
  const list = h("ul", { role: "group" });
  for (const [k, v] of entries) {
    list.append(h("li", {}, node(v, isArray ? null : k, depth + 1, collapsedDepth)));
  }
  details.append(list);
  return details;
}
