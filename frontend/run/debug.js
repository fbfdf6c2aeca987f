// Step-through debugging on the run page: breakpoints set by clicking the graph's nodes (with
// "Set breakpoints" pressed, or `b` on the selected step), and a paused run driven with
// "Next step" (run one step, pause again) and "Continue" (on to the next breakpoint or the
// end); the header's "Cancel" cancels it. "Re-run" starts the same workflow with the same
// input, pausing at the breakpoints, or before every step ("Step through"). A paused run keeps
// its breakpoints and where it stopped, so its page reloads in the same state; breakpoints set
// on a run that is not paused are kept for the workflow in this tab (sessionStorage) until a
// re-run takes them.
//
//   const debug = new Debugger(element, { state, data, graph, onPaused });
//   debug.update();            // after the run's status moved
//   debug.next(); debug.go(); debug.toggle(nodeKey); debug.toggleSelected();
import { ApiError, getJson, postJson } from "../widgets/api.js";
import { h } from "../widgets/dom.js";
import { nodeKeyOf } from "./state.js";

/** A graph node key (`outer.inner`) as the engine names a breakpoint (`outer/inner`). */
export function breakpointOf(key) {
  return nodeKeyOf(key).split(".").join("/");
}

/** A breakpoint or a paused path (a list of segments, or `a/b`) as a graph node key. */
export function nodeOfPath(path) {
  const text = Array.isArray(path) ? path.join(".") : String(path).split("/").join(".");
  return nodeKeyOf(text);
}

export class Debugger {
  constructor(element, { state, data, graph, selected, onPaused = () => {} }) {
    this.element = element;
    this.state = state;
    this.data = data;
    this.graph = graph; // RunGraph
    this.selected = selected;
    this.onPaused = onPaused;
    this.runId = state.run.run_id;
    this.api = `/api/runs/${encodeURIComponent(this.runId)}`;
    this.storeKey = `stepback.breakpoints.${state.run.workflow_id}`;
    this.operator = Boolean(data.can_operate);
    this.breakpoints = new Set(this._stored());
    this.pausedAt = [];
    this.setting = false;
    this.busy = false;
    this.pauses = 0; // pauses shown so far

    this.count = h("span", { class: "muted", "data-breakpoint-count": "" });
    this.setButton = h("button", {
      type: "button", class: "btn btn-small", "aria-pressed": "false", "data-set-breakpoints": "",
      title: "While pressed, clicking a step on the graph sets or removes a breakpoint (b)",
    }, "Set breakpoints");
    this.clearButton = h("button", { type: "button", class: "btn btn-small" }, "Clear");
    this.where = h("span", { class: "debug-where", "data-paused-at": "", "aria-live": "polite" });
    this.nextButton = h("button", { type: "button", class: "btn btn-small btn-primary", "data-debug": "next", title: "Run the next step, then pause again (n)" }, "Next step");
    this.goButton = h("button", { type: "button", class: "btn btn-small", "data-debug": "continue", title: "Run on to the next breakpoint or the end (c)" }, "Continue");
    this.rerunButton = h("button", { type: "button", class: "btn btn-small", "data-debug": "rerun", title: "A new run of this workflow with the same input, pausing at the breakpoints" }, "Re-run to breakpoints");
    this.stepButton = h("button", { type: "button", class: "btn btn-small", "data-debug": "step-through", title: "A new run with the same input, pausing before every step" }, "Step through a re-run");
    this.message = h("span", { class: "debug-message", role: "status" });
    const controls = this.operator
      ? [this.nextButton, this.goButton, this.rerunButton, this.stepButton]
      : [];
    element.replaceChildren(
      h("span", { class: "debug-title" }, "Debug"),
      this.operator ? this.setButton : null, this.count, this.operator ? this.clearButton : null,
      this.where, ...controls, this.message,
    );
    element.hidden = false;
    // The header's Continue would go on without the breakpoints set here: this bar's does it.
    // (The header keeps Cancel.)
    document.querySelector('[data-run-actions] [data-action="continue"]')?.remove();

    this.setButton.addEventListener("click", () => {
      this.setting = !this.setting;
      this.setButton.setAttribute("aria-pressed", String(this.setting));
      element.closest("main")?.classList.toggle("is-setting-breakpoints", this.setting);
    });
    this.clearButton.addEventListener("click", () => this._replace([]));
    this.nextButton.addEventListener("click", () => this.next());
    this.goButton.addEventListener("click", () => this.go());
    this.rerunButton.addEventListener("click", () => this._rerun(false));
    this.stepButton.addEventListener("click", () => this._rerun(true));
    // In the capture phase: the click still selects the node afterwards.
    graph.view.svg.addEventListener("click", (event) => {
      if (!this.setting || event.target.closest("[data-toggle]")) return;
      const node = event.target.closest(".g-node[data-key]");
      if (!node || node.classList.contains("g-marker")) return;
      this.toggle(node.dataset.key);
    }, true);
    this._paint();
    this.update();
  }

  _stored() {
    try {
      return JSON.parse(window.sessionStorage.getItem(this.storeKey) || "[]");
    } catch {
      return [];
    }
  }

  _store() {
    try {
      window.sessionStorage.setItem(this.storeKey, JSON.stringify([...this.breakpoints]));
    } catch {
      // Storage refused (a private window): the breakpoints last as long as the page.
    }
  }

  /** Set or remove the breakpoint on a node. */
  toggle(nodeKey) {
    const key = nodeKeyOf(nodeKey);
    const next = new Set(this.breakpoints);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    this._replace([...next]);
  }

  /** `b`: the selected step's breakpoint. */
  toggleSelected() {
    const key = this.selected();
    if (key && this.operator) this.toggle(key);
  }

  _replace(keys) {
    this.breakpoints = new Set(keys);
    this._store();
    this._paint();
  }

  _paint() {
    this.graph.view.highlight([...this.breakpoints], "breakpoint");
    this.graph.view.highlight(this.pausedAt, "paused-here");
    const n = this.breakpoints.size;
    this.count.textContent = n ? `${n} breakpoint${n === 1 ? "" : "s"}: ${[...this.breakpoints].join(", ")}` : "no breakpoint";
    this.element.dataset.breakpoints = [...this.breakpoints].join(" ");
  }

  /** Show the controls the run's status allows; a paused run says where it stopped. */
  update() {
    const status = this.state.run.status;
    const paused = status === "paused";
    this.element.dataset.status = status;
    this.element.hidden = !this.operator && !paused;
    for (const button of [this.nextButton, this.goButton]) button.hidden = !paused;
    const ended = ["success", "failed", "canceled"].includes(status);
    this.rerunButton.hidden = !ended && !paused;
    this.stepButton.hidden = !ended && !paused;
    if (paused && !this.busy) this._loadPause();
    if (!paused) {
      this.pausedAt = [];
      this.where.replaceChildren();
      this._paint();
    }
  }

  async _loadPause() {
    let head;
    try {
      head = await getJson(`${this.api}/`);
    } catch {
      return;
    }
    if (head.status !== "paused") return;
    this.pausedAt = (head.paused_at || []).map(nodeOfPath);
    // The run's own breakpoints are the ones that count while it is paused.
    if (Array.isArray(head.breakpoints)) this._replace(head.breakpoints.map(nodeOfPath));
    const spots = (head.paused_at || []).map((path) => h("code", {}, Array.isArray(path) ? path.join(".") : String(path)));
    this.where.replaceChildren(
      "Paused before ", ...(spots.length ? spots.flatMap((s, i) => (i ? [", ", s] : [s])) : ["the next step"]),
      head.per_step ? h("span", { class: "muted" }, " (step by step)") : "",
    );
    this._paint();
    // `first`: the pause the page opened on (a step in the address is kept then).
    if (this.pausedAt.length) this.onPaused(this.pausedAt[0], this.pauses === 0);
    this.pauses += 1;
  }

  /** Run the next step, then pause again (`n`). */
  next() {
    return this._continue("next");
  }

  /** On to the next breakpoint or the end (`c`). */
  go() {
    return this._continue("continue");
  }

  async _continue(mode) {
    if (this.state.run.status !== "paused" || this.busy) return;
    const breakpoints = [...this.breakpoints].map(breakpointOf);
    await this._act(async () => {
      try {
        await postJson(`${this.api}/continue/`, { mode, breakpoints });
      } catch (error) {
        // A server without the step-through API still continues a paused run.
        if (!(error instanceof ApiError && error.status === 404 && mode === "continue")) throw error;
        await postJson(`${this.api}/resume/`, {});
      }
      this._say(mode === "next" ? "Running the next step…" : "Continuing…");
    });
  }

  async _rerun(perStep) {
    const breakpoints = [...this.breakpoints].map(breakpointOf);
    await this._act(async () => {
      let run;
      try {
        run = await postJson(`${this.api}/rerun/`, { breakpoints, per_step: perStep });
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404) || !this.data.rerun) throw error;
        run = await postJson("/api/runs/", { ...this.data.rerun, breakpoints, per_step: perStep });
      }
      window.location.assign(`/runs/${encodeURIComponent(run.run_id)}/`);
    });
  }

  async _act(work) {
    this.busy = true;
    for (const button of [this.nextButton, this.goButton]) button.disabled = true;
    try {
      await work();
    } catch (error) {
      const detail = error instanceof ApiError ? error.message : String(error);
      this._say(`Refused: ${detail}`, true);
    } finally {
      this.busy = false;
      for (const button of [this.nextButton, this.goButton]) button.disabled = false;
    }
  }

  _say(text, error = false) {
    this.message.textContent = text;
    this.message.setAttribute("role", error ? "alert" : "status");
    this.message.classList.toggle("alert-inline", error);
  }
}
