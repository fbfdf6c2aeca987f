// Binds the page's modules to its HTML. Every element with `data-module="a/b c/d"` gets each
// named module (frontend/a/b.js) imported and its `mount(element)` called once. A module that
// fails to load says so on the page instead of failing silently.
import { showLocalTimes } from "./widgets/time.js";

const NAME = /^[a-z0-9-]+(\/[a-z0-9-]+)*$/;
const mounted = new WeakMap();

/** Mount every module named under `root` (the document by default; call again for new HTML). */
export async function mountAll(root = document) {
  showLocalTimes(root);
  const elements = [];
  if (root instanceof Element && root.matches("[data-module]")) elements.push(root);
  elements.push(...root.querySelectorAll("[data-module]"));
  await Promise.all(elements.map(mountElement));
}

async function mountElement(element) {
  const done = mounted.get(element) || new Set();
  mounted.set(element, done);
  for (const name of element.dataset.module.split(/\s+/).filter(Boolean)) {
    if (done.has(name)) continue;
    done.add(name);
    if (!NAME.test(name)) {
      console.error(`data-module ${JSON.stringify(name)} is not a module name`);
      continue;
    }
    try {
      const module = await import(new URL(`./${name}.js`, import.meta.url).href);
      await module.mount(element);
    } catch (error) {
      console.error(`module ${name} failed`, error);
      const note = document.createElement("p");
      note.className = "alert alert-error";
      note.setAttribute("role", "alert");
      note.textContent =
        `Part of this page could not start (${name}): ${error.message}. ` +
        "Reload the page; if it persists, check that `make install` ran (npm ci).";
      element.prepend(note);
    }
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => mountAll());
} else {
  mountAll();
}
