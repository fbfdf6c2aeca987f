// Two rows of the runs list chosen for a comparison: the "compare" ticks belong to a GET form
// to /compare/ (`?run_id=a&run_id=b`, which the page turns into its `?a=&b=` address).
import { pickTwo } from "../widgets/pick-two.js";

export function mount(page) {
  const button = page.querySelector("[data-compare-selected]");
  if (!button) return;
  const note = page.querySelector("[data-compare-note]");
  pickTwo(page, { boxes: "input[data-compare-pick]", button, note, prompt: "Tick “compare” on" });
}
