// The lineage tree on a run's page (templates/debugger/lineage.html): a GET form to
// /compare/ with the two runs chosen.
import { pickTwo } from "../widgets/pick-two.js";

export function mount(form) {
  const button = form.querySelector("[data-lineage-compare]");
  const note = form.querySelector("[data-lineage-note]");
  pickTwo(form, { boxes: "[data-lineage-pick]", button, note, prompt: "Choose" });
}
