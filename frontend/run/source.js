// The step function's source in the step panel: its file:line and code, from the workflow
// detail API (`/api/workflows/<id>/`: `steps[*].source` or a `sources` map keyed by path, each
// `{file, line, code}`; collected when the app starts, left out when the
// `STEPBACK_SHOW_SOURCE` setting is off). Read once per page and workflow; nothing is shown
// for a step without source (a nested workflow, a sleep, or source turned off).
//
//   <div data-module="run/source" data-workflow="order-fulfilment" data-step="payment.authorize">
import { getJson } from "../widgets/api.js";
import { h } from "../widgets/dom.js";
import { nodeKeyOf } from "./state.js";

const read = new Map(); // workflow id -> promise of {key: source}

function keyOf(step) {
  if (typeof step.key === "string") return step.key;
  if (Array.isArray(step.path)) return step.path.join(".");
  if (typeof step.path === "string") return step.path.split("/").join(".");
  return step.id || "";
}

function sourcesOf(workflowId) {
  if (!read.has(workflowId)) {
    const promise = getJson(`/api/workflows/${encodeURIComponent(workflowId)}/`).then((detail) => {
      const found = {};
      for (const [path, source] of Object.entries(detail.sources || {})) {
        if (source) found[path.split("/").join(".")] = source;
      }
      for (const step of detail.steps || []) if (step && step.source) found[keyOf(step)] = step.source;
      for (const node of (detail.graph && detail.graph.nodes) || []) if (node.source) found[node.key] = node.source;
      return found;
    }).catch(() => ({}));
    read.set(workflowId, promise);
  }
  return read.get(workflowId);
}

export async function mount(element) {
  const key = element.dataset.step;
  if (!key) return;
  const sources = await sourcesOf(element.dataset.workflow);
  const source = sources[nodeKeyOf(key)];
  if (!source || !source.code) return;
  const where = `${source.file || "?"}:${source.line ?? "?"}`;
  element.replaceChildren(h("details", { class: "step-source", "data-step-source": "" },
    h("summary", {}, "Source ", h("code", { class: "source-where" }, where)),
    h("pre", { class: "json" }, h("code", {}, source.code))));
}
