// The lineage tree on a run's page (templates/debugger/lineage.html): a GET form to
// /compare/ with the runs chosen. Its button waits for exactly two; choosing a third drops
// the oldest choice, so the form always says which two it will compare.
export function mount(form) {
  const button = form.querySelector("[data-lineage-compare]");
  const note = form.querySelector("[data-lineage-note]");
  const chosen = [];
  const refresh = () => {
    button.disabled = chosen.length !== 2;
    note.textContent = chosen.length === 2 ? "" : `Choose ${2 - chosen.length} more run${chosen.length === 1 ? "" : "s"}.`;
  };
  form.addEventListener("change", (event) => {
    const box = event.target.closest("[data-lineage-pick]");
    if (!box) return;
    const at = chosen.indexOf(box);
    if (box.checked && at < 0) chosen.push(box);
    if (!box.checked && at >= 0) chosen.splice(at, 1);
    while (chosen.length > 2) chosen.shift().checked = false;
    refresh();
  });
  refresh();
}
