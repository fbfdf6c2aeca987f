// Importing a run bundle on the runs list (templates/debugger/import.html): a file chosen or
// dropped on the zone is sent to `POST /api/runs/import/`; the page then opens the imported
// run. A run that is already here is offered again under a new id.
import { ApiError, postJson } from "../widgets/api.js";

export function mount(zone) {
  const input = zone.querySelector("[data-import-file]");
  const note = zone.querySelector("[data-import-note]");
  const say = (text, bad = false) => {
    note.textContent = text;
    note.className = bad ? "field-error" : "muted";
  };

  const send = async (file) => {
    if (!file) return;
    say(`Reading ${file.name}…`);
    let bundle;
    try {
      bundle = JSON.parse(await file.text());
    } catch (error) {
      say(`${file.name} is not a JSON bundle (${error.message}).`, true);
      return;
    }
    try {
      let run;
      try {
        run = await postJson(zone.dataset.api, bundle);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 409)) throw error;
        if (!window.confirm(`${error.message}\nImport it again under a new run id?`)) {
          say("Not imported: that run is already here.");
          return;
        }
        run = await postJson(`${zone.dataset.api}?new_id=true`, bundle);
      }
      say("Imported: opening the run…");
      window.location.assign(`/runs/${encodeURIComponent(run.run_id)}/`);
    } catch (error) {
      const fields = error instanceof ApiError ? Object.entries(error.errors).map(([p, m]) => `${p}: ${[].concat(m).join(" ")}`) : [];
      say([`Not imported: ${error.message}`, ...fields].join(" "), true);
    }
  };

  zone.addEventListener("submit", (event) => event.preventDefault());
  input.addEventListener("change", () => send(input.files[0]));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    send(event.dataTransfer.files[0]);
  });
  zone.dataset.ready = "";
}
