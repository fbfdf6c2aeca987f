// Two runs chosen for a comparison with checkboxes: the button waits for exactly two, and a
// third choice drops the oldest, so the form always says which two it will compare.
export function pickTwo(root, { boxes, button, note, prompt }) {
  const chosen = [];
  const refresh = () => {
    button.disabled = chosen.length !== 2;
    const left = 2 - chosen.length;
    note.textContent = left === 0 ? "" : `${prompt} ${left} more run${left === 1 ? "" : "s"}.`;
  };
  root.addEventListener("change", (event) => {
    const box = event.target.closest(boxes);
    if (!box) return;
    const at = chosen.indexOf(box);
    if (box.checked && at < 0) chosen.push(box);
    if (!box.checked && at >= 0) chosen.splice(at, 1);
    while (chosen.length > 2) chosen.shift().checked = false;
    refresh();
  });
  refresh();
}
