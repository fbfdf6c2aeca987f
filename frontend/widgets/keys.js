// Keyboard shortcuts for every page: `g r` runs, `g i` inbox, `g w` workflows, `?` lists every
// shortcut the page has. Pages add their own (the run page: j/k, Enter, t, [/], n) with
// `addShortcuts`. Keys typed into a field are the field's; a key with Ctrl, Alt or Meta is the
// browser's. Mounted by base.html (`data-module="widgets/keys"`).
//
//   addShortcuts("Run", [{ keys: "j", label: "Next step", run: () => ... }]);
//   showShortcuts();
import { h } from "./dom.js";

const groups = new Map(); // group -> [{keys, label, run}]
const SEQUENCE_MS = 1500; // how long `g` waits for its second key
let pending = null;
let pendingTimer = null;
let dialog = null;

/** Add a page's shortcuts under `group` (each `keys` is one key, or two apart: "g r"). */
export function addShortcuts(group, shortcuts) {
  install();
  const list = groups.get(group) || [];
  for (const shortcut of shortcuts) {
    const at = list.findIndex((s) => s.keys === shortcut.keys);
    if (at >= 0) list.splice(at, 1, shortcut);
    else list.push(shortcut);
  }
  groups.set(group, list);
}

function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target.matches("textarea, select")) return true;
  return target.matches("input") && !["range", "checkbox", "radio", "button", "submit"].includes(target.type);
}

// Enter on something that acts on Enter itself (a link, a button, a tab) stays its own.
function enterTaken(target) {
  return target instanceof Element && Boolean(target.closest("a[href], button, summary, [role=tab], input, .ev-row, .tl-body"));
}

function all() {
  return [...groups.values()].flat();
}

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (typing(event.target)) return;
  if (dialog && dialog.open) return; // the dialog's own keys (Escape closes it)
  const key = event.key;
  if (key === "Enter" && enterTaken(event.target)) return;
  let wanted = key;
  if (pending) {
    wanted = `${pending} ${key}`;
    pending = null;
    clearTimeout(pendingTimer);
  } else if (all().some((s) => s.keys.startsWith(`${key} `))) {
    pending = key;
    pendingTimer = setTimeout(() => { pending = null; }, SEQUENCE_MS);
    event.preventDefault();
    return;
  }
  const shortcut = all().find((s) => s.keys === wanted);
  if (!shortcut) return;
  event.preventDefault();
  shortcut.run(event);
}

let installed = false;
function install() {
  if (installed) return;
  installed = true;
  document.addEventListener("keydown", onKey);
  groups.set("Anywhere", [
    { keys: "g r", label: "Go to the runs", run: () => window.location.assign("/") },
    { keys: "g w", label: "Go to the workflows", run: () => window.location.assign("/workflows/") },
    { keys: "g i", label: "Go to the inbox", run: () => window.location.assign("/inbox/") },
    { keys: "?", label: "Show these shortcuts", run: () => showShortcuts() },
  ]);
}

function keyCells(keys) {
  const parts = keys.split(" ");
  return parts.flatMap((part, i) => [i ? " then " : "", h("kbd", {}, part === " " ? "Space" : part)]);
}

/** The dialog listing every shortcut of the page. */
export function showShortcuts() {
  if (!dialog) {
    dialog = h("dialog", { class: "shortcuts-dialog", "aria-labelledby": "shortcuts-title", "data-shortcuts": "" });
    document.body.append(dialog);
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close(); // a click outside the box
    });
  }
  const sections = [];
  const order = [...groups.keys()].filter((g) => g !== "Anywhere").concat("Anywhere");
  for (const group of order) {
    const list = groups.get(group) || [];
    if (!list.length) continue;
    sections.push(h("h3", {}, group), h("table", {}, h("tbody", {}, list.map((s) => h("tr", {},
      h("th", { scope: "row" }, keyCells(s.keys)), h("td", {}, s.label))))));
  }
  const close = h("button", { type: "button", class: "btn btn-small", autofocus: true }, "Close");
  close.addEventListener("click", () => dialog.close());
  dialog.replaceChildren(
    h("div", { class: "panel-head" }, h("h2", { id: "shortcuts-title" }, "Keyboard shortcuts"), close),
    ...sections,
  );
  if (!dialog.open) dialog.showModal();
}

export function mount() {
  install();
}
