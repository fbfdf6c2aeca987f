// The side panel: the selected step (or the run), rendered by the server
// (templates/runs/detail_panel.html) and fetched again as HTML when another step is chosen or
// the open one changes. Tabs switch in place; a suspended step's questions get the same
// schema-generated answer form as the inbox.
//
//   const panel = new StepPanel(element, { url, onSelect, onTab });
//   panel.show(key, tab);   // key null: the run itself
//   panel.refresh();        // the open step changed (kept as it is while an answer is typed)
import { mountAll } from "../boot.js";
import { ApiError, postJson } from "../widgets/api.js";
import { h, readJson } from "../widgets/dom.js";
import { showLocalTimes } from "../widgets/time.js";

export class StepPanel {
  constructor(element, { url, onSelect, onTab }) {
    this.element = element;
    this.url = url;
    this.onSelect = onSelect;
    this.onTab = onTab;
    this.request = 0;
    this.editing = false;
    this.stale = false;
    const panel = element.querySelector("[data-panel]");
    this.key = panel ? panel.dataset.step || null : null;
    this.tab = panel ? panel.dataset.tab : null;
    // A tab the reader chose is kept; otherwise each load opens the step's most telling one.
    this.chosenTab = new URLSearchParams(window.location.search).has("tab");
    this.at = Number(new URLSearchParams(window.location.search).get("at")) || null;
    this._bind();
  }

  /** Open a step (null: the run) on `tab` (its default when null). */
  show(key, tab = null) {
    const same = (key || null) === this.key;
    this.key = key || null;
    this.chosenTab = Boolean(tab) || (same && this.chosenTab);
    this.tab = tab || (same ? this.tab : null);
    this.editing = false;
    return this._load();
  }

  /** Fetch the open step again (after it changed), unless an answer is being typed. */
  refresh() {
    if (this.editing) {
      this._staleNote();
      return Promise.resolve();
    }
    return this._load(true);
  }

  async _load(quiet = false) {
    const ticket = ++this.request;
    const params = new URLSearchParams();
    if (this.key) params.set("step", this.key);
    if (this.tab && this.chosenTab) params.set("tab", this.tab);
    if (this.at) params.set("at", this.at); // a past moment (the scrubber)
    this.element.setAttribute("aria-busy", "true");
    if (!quiet) this.element.classList.add("is-loading");
    let html;
    try {
      const response = await fetch(`${this.url}?${params}`, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.redirected) throw new Error("your session has ended: reload the page to sign in again");
      if (!response.ok) throw new Error(response.status === 404 ? "this run has no such step" : `the server answered ${response.status}`);
      html = await response.text();
    } catch (error) {
      if (ticket !== this.request) return;
      this.element.setAttribute("aria-busy", "false");
      this.element.classList.remove("is-loading");
      const retry = h("button", { type: "button", class: "btn btn-small" }, "Try again");
      retry.addEventListener("click", () => this._load());
      this.element.replaceChildren(h("div", { class: "alert alert-error", role: "alert" },
        `The ${this.key ? "step" : "run"} could not be shown: ${error.message}. `, retry));
      return;
    }
    if (ticket !== this.request) return; // another step was chosen meanwhile
    const scroll = quiet ? this.element.scrollTop : 0;
    // A panel drawn again (a live update, the same step chosen twice) keeps the keyboard's
    // place: focus inside it goes back to its chosen tab, not to the page's top.
    const hadFocus = this.element.contains(document.activeElement);
    // The server's own template, its data escaped there: parsed, never run as script.
    const parsed = new DOMParser().parseFromString(html, "text/html");
    this.element.replaceChildren(...parsed.body.childNodes);
    this.element.scrollTop = scroll;
    this.element.setAttribute("aria-busy", "false");
    this.element.classList.remove("is-loading");
    this.stale = false;
    const panel = this.element.querySelector("[data-panel]");
    if (panel) this.tab = panel.dataset.tab;
    const history = this.element.querySelector("template[data-history-update]");
    const shown = document.querySelector("[data-history]");
    const fresh = history && history.content.querySelector("[data-history]");
    if (fresh && shown) {
      shown.replaceWith(fresh);
      showLocalTimes(fresh);
    }
    this._bind();
    if (hadFocus) {
      const tab = this.element.querySelector('[role=tab][aria-selected="true"]');
      if (tab) tab.focus();
    }
    await mountAll(this.element);
  }

  _bind() {
    const tabs = [...this.element.querySelectorAll("[role=tab]")];
    const choose = (tab, focus = false) => {
      for (const other of tabs) {
        const on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.tabIndex = on ? 0 : -1;
        const body = this.element.querySelector(`#${other.getAttribute("aria-controls")}`);
        if (body) body.hidden = !on;
      }
      if (focus) tab.focus();
      this.tab = tab.dataset.tab;
      this.chosenTab = true;
      this.element.querySelector("[data-panel]").dataset.tab = this.tab;
      if (this.onTab) this.onTab(this.tab);
    };
    tabs.forEach((tab, index) => {
      tab.addEventListener("click", () => choose(tab));
      tab.addEventListener("keydown", (event) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
        if (event.key === "Home") choose(tabs[0], true);
        else if (event.key === "End") choose(tabs[tabs.length - 1], true);
        else if (step) choose(tabs[(index + step + tabs.length) % tabs.length], true);
        else return;
        event.preventDefault();
      });
    });
    const back = this.element.querySelector("[data-show-run]");
    if (back) back.addEventListener("click", () => this.onSelect(null, "panel"));
    const forms = [...this.element.querySelectorAll("form[data-resume-form]")];
    // The form library is large: it is loaded when a question is on screen, not with the page.
    if (forms.length) {
      import("../widgets/schema-form.js").then(({ createSchemaForm }) => {
        for (const form of forms) if (form.isConnected) this._answerForm(form, createSchemaForm);
      });
    }
  }

  _answerForm(form, createSchemaForm) {
    const slot = form.querySelector("[data-answer-form]");
    slot.replaceChildren();
    const schemaForm = createSchemaForm(slot, { schema: readJson(form.dataset.schema), name: "data", label: "Answer" });
    form.schemaForm = schemaForm;
    form.addEventListener("input", () => { this.editing = true; });
    form.addEventListener("change", () => { this.editing = true; });
    const button = form.querySelector("[data-submit]");
    const note = form.querySelector("[data-form-note]");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answered = await schemaForm.submit(async (data) => {
        try {
          return await postJson(form.dataset.api, { data });
        } catch (error) {
          if (error instanceof ApiError && error.status === 409) {
            throw new Error(`${error.message} Someone may have answered it already: the page shows what happened.`);
          }
          throw error;
        }
      }, button);
      if (!answered) return;
      this.editing = false;
      if (note) note.textContent = "Answered: the run goes on.";
      await this._load(true);
    });
  }

  _staleNote() {
    if (this.stale) return;
    this.stale = true;
    const reload = h("button", { type: "button", class: "btn btn-small" }, "Show the latest");
    reload.addEventListener("click", () => {
      this.editing = false;
      this._load(true);
    });
    const head = this.element.querySelector(".step-panel-head");
    if (head) head.after(h("p", { class: "alert alert-info stale-note", role: "status" }, "This step changed while you typed. ", reload));
  }
}
