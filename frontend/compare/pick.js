// Two rows of the runs list chosen for a comparison: the "compare" ticks belong to a GET form
// to /compare/ (`?run_id=a&run_id=b`, which the page turns into its `?a=&b=` address). The
// button waits for exactly two; a third tick drops the oldest.
export function mount(page) {
  const button = page.querySelector("[data-compare-selected]");
  const note = page.querySelector("[data-compare-note]");
  if (!button) return;
  const chosen = [];
  const refresh = () => {
    button.disabled = chosen.length !== 2;
    note.textContent = chosen.length === 2 ? "" : `Tick “compare” on ${2 - chosen.length} more run${chosen.length === 1 ? "" : "s"}.`;
  };
  page.addEventListener("change", (event) => {
    const box = event.target.closest("input[data-compare-pick]");
    if (!box) return;
    const at = chosen.indexOf(box);
    if (box.checked && at < 0) chosen.push(box);
    if (!box.checked && at >= 0) chosen.splice(at, 1);
    while (chosen.length > 2) chosen.shift().checked = false;
    refresh();
  });
  refresh();
}
