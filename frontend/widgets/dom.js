// Small DOM helpers every module uses. Data always goes in as text (never as HTML).

/**
 * An element: `h("a", {href: url, class: "mono"}, "text", child)`. Attributes starting with
 * "on" are listeners; `dataset` takes an object; children are nodes or strings (as text).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "class") {
      element.className = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** The JSON of a `json_script` element, by id (or the element itself); `fallback` if absent. */
export function readJson(idOrElement, fallback = null) {
  const element =
    typeof idOrElement === "string" ? document.getElementById(idOrElement) : idOrElement;
  if (!element) return fallback;
  return JSON.parse(element.textContent);
}

/** The page's CSRF token (base.html's meta tag, else the cookie). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** Copy text to the clipboard, falling back where the async clipboard is unavailable. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = h("textarea", { style: "position:fixed;opacity:0" }, text);
    document.body.append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}

/** A button that copies `text()` and says so for a moment. */
export function copyButton(text, label = "Copy") {
  const button = h("button", { type: "button", class: "btn btn-small" }, label);
  button.addEventListener("click", async () => {
    const done = await copyText(typeof text === "function" ? text() : text);
    button.textContent = done ? "Copied" : "Copy failed";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
  return button;
}
