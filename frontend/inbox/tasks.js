// The inbox (and one task's page): each open task's answer form is generated from its resume
// schema; answering resumes the run and opens it. The server's per-field errors are shown
// beside the fields, and the task is asked again.
import { ApiError, postJson } from "../widgets/api.js";
import { readJson } from "../widgets/dom.js";
import { createSchemaForm } from "../widgets/schema-form.js";

function upgrade(form) {
  const slot = form.querySelector("[data-answer-form]");
  const typed = form.querySelector("textarea[name=data]").value.trim();
  let value;
  try {
    value = typed ? JSON.parse(typed) : undefined;
  } catch {
    value = undefined;
  }
  slot.replaceChildren();
  const schemaForm = createSchemaForm(slot, {
    schema: readJson(form.dataset.schema),
    value,
    name: "data",
    label: "Answer",
  });
  form.schemaForm = schemaForm;
  const button = form.querySelector("[data-submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const answered = await schemaForm.submit(async (data) => {
      try {
        return await postJson(form.dataset.api, { data });
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          throw new Error(`${error.message} Reload the inbox to see who answered it.`);
        }
        throw error;
      }
    }, button);
    if (answered) window.location.assign(form.dataset.runUrl);
  });
}

export function mount(page) {
  for (const form of page.querySelectorAll("form[data-task-form]")) upgrade(form);
}
