// The plan preview of a time travel: every step with what the fork does with it (reused,
// re-executed, skipped), as a list with a "reuse the recorded output" switch on each downstream
// step that has one, and on the run's graph (a class and a badge per node).
//
//   const plan = new PlanView(section, data);  // data: the page's json (graph, plan, step)
//   plan.show(answer, "updated");  plan.reused();  plan.onReuse = () => ...
import { h } from "../widgets/dom.js";
import { GraphView } from "../widgets/graph.js";

const LABELS = { reused: "reused", "re-executed": "runs again", skipped: "skipped" };
const BADGES = { reused: ["reuse", "success"], "re-executed": ["run", "running"], skipped: ["skip", "skipped"] };
const CLASSES = { reused: "tt-reused", "re-executed": "tt-rerun", skipped: "tt-skipped" };

export class PlanView {
  constructor(section, data) {
    this.section = section;
    this.list = section.querySelector("[data-tt-steps]");
    this.state = section.querySelector("[data-tt-plan-state]");
    this.target = data.step;
    this.onReuse = null;
    this.chosen = new Set(data.plan.reuse || []);
    const element = section.querySelector("[data-tt-graph]");
    element.replaceChildren();
    this.graph = new GraphView(element, data.graph, {});
    this.graph.select(this.target);
    this.list.addEventListener("change", (event) => {
      const box = event.target.closest("input[name=reuse]");
      if (!box) return;
      if (box.checked) this.chosen.add(box.value);
      else this.chosen.delete(box.value);
      if (this.onReuse) this.onReuse();
    });
    this.show(data.plan, null);
  }

  /** The downstream steps whose recorded output the user chose to reuse. */
  reused() {
    return [...this.chosen];
  }

  busy(on, text = "") {
    this.section.setAttribute("aria-busy", on ? "true" : "false");
    this.section.classList.toggle("is-loading", on);
    if (text) this.state.textContent = text;
  }

  /** Draw a plan (the preview API's answer). */
  show(plan, text) {
    this.busy(false, text || "");
    this.list.replaceChildren(...plan.steps.map((step) => this._row(step)));
    const byAction = { reused: [], "re-executed": [], skipped: [] };
    for (const step of plan.steps) {
      if (byAction[step.action]) byAction[step.action].push(step.key);
      const [badge, tone] = BADGES[step.action] || ["", ""];
      this.graph.setBadge(step.key, badge, tone);
    }
    for (const [action, keys] of Object.entries(byAction)) this.graph.highlight(keys, CLASSES[action]);
    this.section.dataset.planned = JSON.stringify(plan.steps.map((s) => [s.key, s.action]));
  }

  _row(step) {
    const reuse = step.reusable
      ? h("label", { class: "tt-reuse" },
        h("input", { type: "checkbox", name: "reuse", value: step.key, checked: this.chosen.has(step.key) }),
        " reuse the recorded output")
      : null;
    return h("li", { dataset: { key: step.key, action: step.action }, class: step.key === this.target ? "tt-target" : null },
      h("span", { class: "tt-action" }, LABELS[step.action] || step.action),
      " ",
      h("code", { class: "tt-step" }, step.path.join(" › ")),
      " ",
      h("span", { class: "muted" }, step.recorded_status ? `was ${step.recorded_status}` : "did not run"),
      reuse ? " " : null,
      reuse);
  }
}
