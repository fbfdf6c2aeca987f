// A workflow's page: the start form generated from the input schema (with a raw JSON tab),
// sent to the API; the new run's page opens, already live.
import { postJson } from "../widgets/api.js";
import { readJson } from "../widgets/dom.js";
import { createSchemaForm } from "../widgets/schema-form.js";

export function mount(page) {
  const form = page.querySelector("form[data-start-form]");
  if (!form) return; // a viewer: no form
  const slot = form.querySelector("[data-input-form]");
  const typed = form.querySelector("textarea[name=input]").value.trim();
  let value;
  try {
    value = typed ? JSON.parse(typed) : undefined;
  } catch {
    value = undefined;
  }
  slot.replaceChildren();
  const schemaForm = createSchemaForm(slot, {
    schema: readJson("input-schema"),
    value,
    name: "input",
    label: "Input",
  });
  form.schemaForm = schemaForm;
  const button = form.querySelector("[data-submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const resource = form.querySelector("[name=resource_id]").value.trim();
    const debug = debugOptions(form);
    const run = await schemaForm.submit(
      (input) => postJson(form.dataset.api, {
        workflow_id: form.dataset.workflowId,
        input,
        ...(resource ? { resource_id: resource } : {}),
        ...debug,
      }),
      button,
    );
    if (run) window.location.assign(`/runs/${encodeURIComponent(run.run_id)}/`);
  });
}

// Step-through and breakpoints, sent only when asked for.
function debugOptions(form) {
  const options = {};
  const perStep = form.querySelector("[name=per_step]");
  if (perStep && perStep.checked) options.per_step = true;
  const typed = form.querySelector("[name=breakpoints]");
  const breakpoints = typed ? typed.value.split(",").map((s) => s.trim()).filter(Boolean) : [];
  if (breakpoints.length) options.breakpoints = breakpoints;
  return options;
}
