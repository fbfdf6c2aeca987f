// The runs list: rows change live (status, steps, duration), new runs that match the filters
// appear at the top of the first page (rendered by the server, like every row), and a
// selection of runs can be cancelled.
import { readJson } from "../widgets/dom.js";
import { bindState, watchRuns } from "../widgets/live.js";
import { ENDED, setStatus, stepCounts } from "../widgets/status.js";
import { formatDuration, secondsBetween, showLocalTimes } from "../widgets/time.js";

function matches(filter, run) {
  if (filter.workflow && run.workflow_id !== filter.workflow) return false;
  if (filter.status.length && !filter.status.includes(run.status)) return false;
  if (filter.resource_id && run.resource_id !== filter.resource_id) return false;
  if (filter.parent_run_id && run.parent_run_id !== filter.parent_run_id) return false;
  if (filter.search && !run.run_id.startsWith(filter.search)) return false;
  const day = (run.created_at || "").slice(0, 10);
  if (filter.created_after && day < filter.created_after) return false;
  if (filter.created_before && day > filter.created_before) return false;
  return true;
}

async function fetchRows(ids) {
  const query = new URLSearchParams(ids.map((id) => ["run_id", id]));
  const response = await fetch(`/runs/rows/?${query}`, { credentials: "same-origin" });
  if (!response.ok) return [];
  // Server-rendered rows (escaped by the template engine), parsed inside a <tbody>.
  const template = document.createElement("template");
  template.innerHTML = `<table><tbody>${await response.text()}</tbody></table>`;
  return [...template.content.querySelectorAll("tr[data-run-id]")];
}

export function mount(page) {
  const filter = readJson("runs-filter");
  const tbody = page.querySelector("tbody[data-rows]");
  const count = page.querySelector("[data-run-count]");
  const feed = watchRuns();
  const state = page.querySelector("[data-live-state]");
  if (state) bindState(state, feed);

  const rowOf = (runId) => tbody.querySelector(`tr[data-run-id="${CSS.escape(runId)}"]`);

  function update(row, run) {
    row.dataset.status = run.status;
    const chip = row.querySelector("[data-cell=status] .chip");
    if (chip && chip.dataset.status !== run.status) {
      setStatus(chip, run.status);
      row.classList.remove("flash");
      void row.offsetWidth; // restart the animation
      row.classList.add("flash");
    }
    row.querySelector("[data-cell=steps]")?.replaceChildren(stepCounts(run.step_counts));
    const duration = row.querySelector("[data-cell=duration]");
    if (duration) {
      duration.dataset.started = run.started_at || "";
      duration.dataset.finished = run.finished_at || "";
      duration.textContent = formatDuration(run.duration);
    }
    const box = row.querySelector("input[data-select]");
    if (box && ENDED.includes(run.status)) {
      box.checked = false;
      box.disabled = true;
    }
  }

  const pending = new Set();
  let timer = null;
  async function insertPending() {
    timer = null;
    const ids = [...pending].filter((id) => !rowOf(id));
    pending.clear();
    if (!ids.length) return;
    const rows = await fetchRows(ids);
    for (const row of rows.reverse()) {
      if (rowOf(row.dataset.runId)) continue;
      tbody.prepend(row);
      row.classList.add("flash");
      showLocalTimes(row);
      if (count) count.textContent = String(Number(count.textContent) + 1);
    }
    while (tbody.rows.length > filter.page_size) tbody.lastElementChild.remove();
    const table = tbody.closest("table");
    if (table && table.hidden) {
      // The page showed "no runs yet": reload to get the whole list layout.
      window.location.reload();
    }
  }

  feed.subscribe((run) => {
    const row = rowOf(run.run_id);
    if (row) update(row, run);
    else if (filter.insert && matches(filter, run)) {
      pending.add(run.run_id);
      timer = timer || setTimeout(insertPending, 150);
    }
  });

  // After a reconnect, rows may have missed changes: read them again.
  let wasLost = false;
  feed.onState(async ({ state: now }) => {
    if (now === "reconnecting") wasLost = true;
    if (now === "live" && wasLost) {
      wasLost = false;
      const ids = [...tbody.querySelectorAll("tr[data-run-id]")].map((r) => r.dataset.runId);
      for (const fresh of ids.length ? await fetchRows(ids) : []) {
        rowOf(fresh.dataset.runId)?.replaceWith(fresh);
        showLocalTimes(fresh);
      }
    }
  });

  // Running rows: the duration grows while you watch.
  setInterval(() => {
    for (const row of tbody.querySelectorAll('tr[data-status="running"], tr[data-status="waiting"]')) {
      const cell = row.querySelector("[data-cell=duration]");
      if (cell && cell.dataset.started && !cell.dataset.finished) {
        cell.textContent = formatDuration(secondsBetween(cell.dataset.started));
      }
    }
  }, 1000);

  bindSelection(page);
}

function bindSelection(page) {
  const form = page.querySelector("form[data-bulk-form]");
  const button = page.querySelector("[data-bulk-cancel]");
  if (!form || !button) return;
  const boxes = () => [...form.querySelectorAll("input[data-select]:not(:disabled)")];
  const refresh = () => {
    const n = boxes().filter((box) => box.checked).length;
    button.disabled = n === 0;
    button.textContent = n ? `Cancel ${n} selected` : "Cancel selected";
  };
  form.addEventListener("change", (event) => {
    if (event.target.matches("[data-select-all]")) {
      for (const box of boxes()) box.checked = event.target.checked;
    }
    refresh();
  });
  form.addEventListener("submit", (event) => {
    const n = boxes().filter((box) => box.checked).length;
    if (!window.confirm(`Cancel ${n} run${n === 1 ? "" : "s"}? Running steps are asked to stop.`)) {
      event.preventDefault();
    }
  });
  refresh();
}
