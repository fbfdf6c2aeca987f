// The time-travel page (templates/debugger/time_travel.html): the target step's input as a form
// generated from its schema (prefilled with the recorded input, raw JSON tab too), the earlier
// steps' recorded outputs as forms of their output schemas, the plan preview asked again
// (debounced) as the user edits, and the submit that creates the linked run and opens it.
import { ApiError, postJson } from "../widgets/api.js";
import { h, readJson } from "../widgets/dom.js";
import { createSchemaForm, SchemaFormError } from "../widgets/schema-form.js";
import { jsonDiff, diffList } from "../compare/diff.js";
import { PlanView } from "./plan.js";

const DEBOUNCE_MS = 250;

export function mount(main) {
  const data = readJson("tt-data");
  const form = main.querySelector("form[data-tt-form]");
  const errorsBox = main.querySelector("[data-tt-errors]");
  const plan = new PlanView(main.querySelector("[data-tt-plan]"), data);
  const inputSlot = main.querySelector("[data-tt-input]");
  inputSlot.replaceChildren();
  const input = createSchemaForm(inputSlot, {
    schema: data.input_schema, value: data.recorded_input, name: "input", label: "Input",
  });
  const inputDiff = main.querySelector("[data-tt-input-diff]");
  const outputs = new Map(); // step key -> {form, recorded, item}
  const recorded = new Map(data.editable.map((step) => [step.key, step]));

  for (const item of main.querySelectorAll("[data-tt-output]")) {
    const details = item.querySelector("details");
    // A form is built when its step is opened: most are never edited.
    details.addEventListener("toggle", () => {
      if (!details.open || outputs.has(item.dataset.ttOutput)) return;
      const step = recorded.get(item.dataset.ttOutput);
      const slot = item.querySelector("[data-tt-output-form]");
      slot.replaceChildren();
      const editor = createSchemaForm(slot, {
        schema: step.schema, value: step.output, name: `output-${step.key}`, label: `Output of ${step.key}`,
      });
      outputs.set(step.key, { form: editor, recorded: step.output, item });
      editor.ready.then(() => { editor.ready.done = true; });
    });
  }

  // What the form asks for now; `problems` lists the values that are not JSON yet.
  const collect = () => {
    const problems = [];
    const body = { step: data.step, reuse: plan.reused() };
    try {
      const value = input.getValue();
      const diffs = jsonDiff(data.recorded_input, value);
      inputDiff.replaceChildren(h("h3", {}, "Changed from the recording"),
        diffList(diffs, { empty: "Nothing changed yet: the step gets its recorded input." }));
      if (diffs.length) body.input = value;
    } catch (error) {
      if (!(error instanceof SchemaFormError)) throw error;
      problems.push(`Input: ${error.message}`);
    }
    const edited = {};
    for (const [key, { form: editor, recorded: before, item }] of outputs) {
      let value;
      try {
        value = editor.getValue();
      } catch (error) {
        if (!(error instanceof SchemaFormError)) throw error;
        problems.push(`Output of ${key}: ${error.message}`);
        continue;
      }
      const changed = jsonDiff(before, value).length > 0;
      item.querySelector("[data-tt-edited]").hidden = !changed;
      if (changed) edited[key] = value;
      else item.querySelector("[data-tt-output-diff]").replaceChildren();
    }
    if (Object.keys(edited).length) body.outputs = edited;
    return { body, problems };
  };
  // Breakpoints and step-through ride along on the submit only (the plan does not depend on them).
  const debugOptions = () => {
    const options = {};
    const perStep = form.querySelector("[data-tt-per-step]");
    if (perStep && perStep.checked) options.per_step = true;
    const points = (form.querySelector("[data-tt-breakpoints]")?.value || "").split(",").map((p) => p.trim()).filter(Boolean);
    if (points.length) options.breakpoints = points;
    return options;
  };

  const showErrors = (lines, detail = "") => {
    errorsBox.replaceChildren();
    errorsBox.hidden = !lines.length && !detail;
    if (detail) errorsBox.append(h("p", {}, h("strong", {}, detail)));
    if (lines.length) errorsBox.append(h("ul", {}, lines.map((line) => h("li", {}, line))));
  };

  const showOutputDiffs = (diffs) => {
    for (const [key, { item }] of outputs) {
      const box = item.querySelector("[data-tt-output-diff]");
      if (diffs[key]) box.replaceChildren(diffList(diffs[key]));
    }
  };

  let ticket = 0;
  let timer = null;
  const preview = async () => {
    const mine = ++ticket;
    const { body, problems } = collect();
    if (problems.length) {
      showErrors(problems, "Fix these to see the plan:");
      return;
    }
    plan.busy(true);
    let answer;
    try {
      answer = await postJson(data.urls.preview, body);
    } catch (error) {
      if (mine !== ticket) return;
      plan.busy(false, "could not be updated");
      const lines = error instanceof ApiError ? Object.entries(error.errors).map(([p, m]) => `${p}: ${[].concat(m).join(" ")}`) : [];
      showErrors(lines, error.message);
      return;
    }
    if (mine !== ticket) return; // a newer edit is being previewed
    const edits = Boolean(body.input || body.outputs || body.reuse.length);
    plan.show(answer, edits ? "updated for your edits" : "as recorded, without edits");
    showOutputDiffs(answer.output_diffs || {});
    showErrors(answer.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)),
      answer.valid ? "" : "The plan leaves out edits that are not valid:");
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(preview, DEBOUNCE_MS);
  };
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  // The form library changes values without input events (array rows added, enums chosen).
  input.ready.then(() => { if (input.editor) input.editor.on("change", schedule); });
  plan.onReuse = schedule;

  const submit = form.querySelector("[data-tt-submit]");
  const note = form.querySelector("[data-tt-note]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!submit) return;
    clearTimeout(timer);
    const { body, problems } = collect();
    if (problems.length) {
      showErrors(problems, "Fix these first:");
      return;
    }
    submit.disabled = true;
    note.textContent = "Starting the new run…";
    try {
      const run = await postJson(data.urls.submit, { ...body, ...debugOptions() });
      note.textContent = "Started: opening its page…";
      window.location.assign(data.urls.run.replace("RUN_ID", encodeURIComponent(run.run_id)));
    } catch (error) {
      submit.disabled = false;
      note.textContent = "";
      if (error instanceof ApiError && error.status === 400) {
        input.showErrors(error.errors, error.message);
        showErrors(Object.entries(error.errors).map(([p, m]) => `${p}: ${[].concat(m).join(" ")}`), error.message);
      } else {
        showErrors([], error.message);
      }
    }
  });
  main.dataset.ready = "";
  window.stepbackTimeTravel = { input, outputs, plan, preview };
}
