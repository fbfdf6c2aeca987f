// Forms generated from a JSON Schema, with a raw JSON tab: one module for starting a run,
// answering a human task and (later) time travel.
//
//   const form = createSchemaForm(container, { schema, value, name: "input" });
//   const answer = await form.submit((value) => postJson(url, { input: value }));
//   // answer is the API's reply, or null when the server refused: its per-field errors are
//   // then shown beside the fields (and listed above the form), until each field changes.
//
// The form tab is @json-editor/json-editor (nested objects, arrays, enums, defaults, required
// fields, descriptions). A schema of `null` (any JSON value) gets the raw JSON tab only.
import "../vendor/jsoneditor.js";
import { ApiError } from "./api.js";
import { h, readJson } from "./dom.js";

const { JSONEditor } = window;
const NON_FIELD = "non_field_errors";
let counter = 0;

/** Raised by getValue() when the raw JSON tab does not hold JSON. */
export class SchemaFormError extends Error {}

/** Inline `$ref`s (pydantic writes `$defs`), so the form library sees one plain schema. */
export function resolveRefs(schema) {
  const root = schema;
  const lookup = (ref) => {
    if (!ref.startsWith("#/")) return null;
    let target = root;
    for (const part of ref.slice(2).split("/")) {
      target = target && target[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return target || null;
  };
  const walk = (node, seen) => {
    if (Array.isArray(node)) return node.map((item) => walk(item, seen));
    if (!node || typeof node !== "object") return node;
    if (typeof node.$ref === "string") {
      const target = lookup(node.$ref);
      if (!target || seen.includes(node.$ref)) return {}; // a recursive type: any value
      const { $ref, ...rest } = node;
      return walk({ ...target, ...rest }, [...seen, $ref]);
    }
    const out = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$defs" || key === "definitions") continue;
      out[key] = walk(value, seen);
    }
    return simplifyOptional(out);
  };
  return walk(schema, []);
}

// `anyOf: [X, {type: "null"}]` (an optional field) is shown as X: a choice between "X" and
// "null" would make every optional field a two-step control.
function simplifyOptional(node) {
  const options = node.anyOf;
  if (!Array.isArray(options) || options.length !== 2) return node;
  const real = options.filter((option) => option.type !== "null");
  if (real.length !== 1) return node;
  const { anyOf, ...rest } = node;
  return { ...real[0], ...rest, default: rest.default ?? real[0].default };
}

function editorPath(path) {
  return path ? `root.${path}` : "root";
}

function plainPath(editorPathText) {
  return editorPathText === "root" ? "" : editorPathText.replace(/^root\./, "");
}

function valueAt(value, path) {
  if (!path) return value;
  let current = value;
  for (const part of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    current = current[part];
  }
  return current;
}

class SchemaForm {
  constructor(container, { schema, value, name = "value", label = "" }) {
    counter += 1;
    const id = `schema-form-${counter}`;
    this.schema = schema ? resolveRefs(schema) : null;
    this.name = name;
    this.serverErrors = new Map(); // path -> {messages, value when refused}
    this.element = h("div", { class: "schema-form-widget" });
    this.problems = h("div", { class: "alert alert-error", role: "alert", hidden: true });
    this.formTab = h("button", {
      type: "button", role: "tab", id: `${id}-form-tab`, "aria-controls": `${id}-form`,
    }, "Form");
    this.rawTab = h("button", {
      type: "button", role: "tab", id: `${id}-raw-tab`, "aria-controls": `${id}-raw`,
    }, "Raw JSON");
    this.formPanel = h("div", {
      role: "tabpanel", id: `${id}-form`, "aria-labelledby": `${id}-form-tab`, class: "schema-form",
    });
    this.raw = h("textarea", {
      name, spellcheck: "false", "aria-label": `${label || name} as JSON`, rows: 10,
    });
    this.rawPanel = h("div", {
      role: "tabpanel", id: `${id}-raw`, "aria-labelledby": `${id}-raw-tab`,
    }, h("p", { class: "muted" }, "Any JSON value", this.schema ? " matching the schema" : "", "."), this.raw);
    const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": `${label || name} editor` },
      this.schema ? this.formTab : null, this.rawTab);
    // append() would write a null as the text "null".
    this.element.append(...[this.problems, tabs, this.schema ? this.formPanel : null, this.rawPanel].filter(Boolean));
    container.append(this.element);
    this.formTab.addEventListener("click", () => this.showTab("form"));
    this.rawTab.addEventListener("click", () => this.showTab("raw"));
    tabs.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        this.showTab(this.tab === "form" ? "raw" : "form");
        (this.tab === "form" ? this.formTab : this.rawTab).focus();
      }
    });
    this.editor = null;
    if (this.schema) {
      const options = {
        schema: this.schema,
        theme: "html",
        iconlib: null,
        disable_collapse: true,
        disable_edit_json: true,
        disable_properties: true,
        disable_array_delete_all_rows: true,
        disable_array_delete_last_row: true,
        array_controls_top: false,
        prompt_before_delete: false,
        show_errors: "never", // "always" from the first submit on
        use_default_values: true,
      };
      // The library treats a present-but-undefined startval as a value (dropping defaults).
      if (value !== undefined && value !== null) options.startval = value;
      this.editor = new JSONEditor(this.formPanel, options);
      this.editor.on("change", () => this._refreshErrors());
      this.ready = new Promise((resolve) => this.editor.on("ready", () => {
        this.editor.root.showValidationErrors([]); // its first check shows even with "never"
        resolve();
      }));
    } else {
      this.raw.value = JSON.stringify(value ?? null, null, 2);
      this.ready = Promise.resolve();
    }
    // Browser tests (and styles) can tell a form that is ready for input.
    this.ready.then(() => { this.element.dataset.ready = ""; });
    this.showTab(this.schema ? "form" : "raw");
  }

  /** Show the "form" or the "raw" tab, carrying the value across. */
  showTab(tab) {
    if (tab === this.tab) return;
    if (tab === "form" && this.tab === "raw" && this.editor) {
      let parsed;
      try {
        parsed = JSON.parse(this.raw.value);
      } catch (error) {
        this._showProblems([`The raw JSON is not valid JSON (${error.message}); fix it to go back to the form.`]);
        return;
      }
      this.editor.setValue(parsed);
    }
    if (tab === "raw" && this.editor) this.raw.value = JSON.stringify(this.editor.getValue(), null, 2);
    this.tab = tab;
    const onForm = tab === "form";
    this.formTab.setAttribute("aria-selected", String(onForm));
    this.rawTab.setAttribute("aria-selected", String(!onForm));
    this.formPanel.hidden = !onForm;
    this.rawPanel.hidden = onForm;
    this._refreshErrors();
  }

  /** The value the user entered (SchemaFormError when the raw tab does not hold JSON). */
  getValue() {
    if (this.tab === "form" && this.editor) return this.editor.getValue();
    try {
      return JSON.parse(this.raw.value);
    } catch (error) {
      throw new SchemaFormError(`The raw JSON is not valid JSON: ${error.message}`);
    }
  }

  /** Replace the value in both tabs. */
  setValue(value) {
    if (this.editor) this.editor.setValue(value);
    this.raw.value = JSON.stringify(value ?? null, null, 2);
  }

  /** Problems the form library finds itself, as `{path, message}` (dotted paths). */
  clientErrors() {
    if (!this.editor) return [];
    return this.editor.validate().map((e) => ({ path: plainPath(e.path), message: e.message }));
  }

  /**
   * Show the server's field errors (`{"a.b": ["message"]}`, as in API error bodies) beside
   * their fields, each until its field changes, and list them above the form with `detail`.
   */
  showErrors(errors, detail = "") {
    const value = this._safeValue();
    this.serverErrors = new Map(
      Object.entries(errors || {}).map(([path, messages]) => [
        path === NON_FIELD ? "" : path,
        { messages: [].concat(messages), value: JSON.stringify(valueAt(value, path === NON_FIELD ? "" : path)) },
      ]),
    );
    const lines = [...this.serverErrors].flatMap(([path, { messages }]) =>
      messages.map((message) => (path ? `${path}: ${message}` : message)));
    this._showProblems(lines, detail);
    this._refreshErrors();
  }

  /** Forget every server error. */
  clearErrors() {
    this.serverErrors = new Map();
    this._showProblems([]);
    this._refreshErrors();
  }

  /**
   * Send the value with `call(value)` (a promise of the API's answer). Refusals are shown:
   * field errors beside the fields, anything else above the form. Returns the answer, or null.
   */
  async submit(call, button = null) {
    await this.ready;
    let value;
    try {
      value = this.getValue();
    } catch (error) {
      this._showProblems([error.message]);
      return null;
    }
    this.clearErrors();
    if (this.editor && !this.submitted) {
      // From the first attempt on, every problem shows, touched or not.
      this.submitted = true;
      this.editor.options.show_errors = "always";
    }
    if (button) button.disabled = true;
    try {
      return await call(value);
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        this.showErrors(error.errors, error.message);
      } else {
        this._showProblems([error.message || String(error)]);
      }
      return null;
    } finally {
      if (button) button.disabled = false;
    }
  }

  _safeValue() {
    try {
      return this.getValue();
    } catch {
      return undefined;
    }
  }

  _showProblems(lines, detail = "") {
    this.problems.replaceChildren();
    if (!lines.length && !detail) {
      this.problems.hidden = true;
      return;
    }
    this.problems.hidden = false;
    if (detail) this.problems.append(h("p", {}, h("strong", {}, detail)));
    if (lines.length) this.problems.append(h("ul", {}, lines.map((line) => h("li", {}, line))));
  }

  _refreshErrors() {
    // Before the first submit nothing is shown: an empty form is not a mistake.
    if (!this.editor || !this.editor.ready || !this.submitted) return;
    const value = this._safeValue();
    // A field the user changed since the server refused it loses its server error.
    for (const [path, error] of [...this.serverErrors]) {
      if (JSON.stringify(valueAt(value, path)) !== error.value) this.serverErrors.delete(path);
    }
    const server = [...this.serverErrors].flatMap(([path, { messages }]) =>
      messages.map((message) => ({ path: editorPath(path), property: "server", message })));
    const own = this.editor.validation_results || [];
    this.editor.root.showValidationErrors([...own, ...server]);
    for (const [path] of this.serverErrors) {
      const field = this.editor.getEditor(editorPath(path));
      const input = field && field.input;
      if (input) input.setAttribute("aria-invalid", "true");
    }
  }
}

/** A form for `schema` (null: raw JSON only) in `container`, prefilled with `value`. */
export function createSchemaForm(container, options) {
  return new SchemaForm(container, options);
}

/**
 * `data-module="widgets/schema-form"` on a container: `data-schema` and `data-value` name
 * json_script ids, `data-name` the field name. The form is at `container.schemaForm`.
 */
export function mount(container) {
  container.schemaForm = createSchemaForm(container, {
    schema: readJson(container.dataset.schema || "", null),
    value: readJson(container.dataset.value || "", undefined),
    name: container.dataset.name || "value",
    label: container.dataset.label || "",
  });
  return container.schemaForm;
}
