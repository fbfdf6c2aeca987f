// The run page's header: the run's status and duration kept live, the run id's copy button,
// and the operate buttons (each shown in the statuses it applies to; the server renders none
// for a viewer and refuses them anyway).
//
//   const header = new RunHeader(element, state, { data, onResume });
//   header.update();   // after the run's status or seq moved
import { ApiError, postJson } from "../widgets/api.js";
import { copyButton, h } from "../widgets/dom.js";
import { setStatus } from "../widgets/status.js";
import { formatDuration } from "../widgets/time.js";
import { toSeconds } from "./state.js";

const DONE = {
  cancel: "Cancel asked: the run stops once its running steps return.",
  restart: "Restarted: the run goes on from its last stored state.",
  continue: "Continued.",
};
const CONFIRM = {
  cancel: "Cancel this run? Running steps are asked to stop; a cancelled run cannot be resumed.",
  restart: "Restart this run from its last stored state? Only do this for a run interrupted by a stopped server.",
  rerun: "Start a new run of this workflow with the same input?",
};

export class RunHeader {
  constructor(root, state, { data, onResume }) {
    this.state = state;
    this.data = data;
    this.onResume = onResume;
    this.chip = root.querySelector("[data-run-status] .chip");
    this.duration = root.querySelector("[data-run-duration]");
    this.durationLabel = root.querySelector("[data-duration-label]");
    this.message = root.querySelector("[data-action-message]");
    this.buttons = [...root.querySelectorAll("[data-run-actions] [data-action][data-when]")];
    const copy = root.querySelector("[data-copy-run-id]");
    if (copy) copy.replaceWith(copyButton(state.run.run_id));
    for (const button of this.buttons) button.addEventListener("click", () => this._act(button));
    this._timer = setInterval(() => {
      if (this.state.live) this._duration();
    }, 1000);
    this.update();
  }

  /** Show the run's status, duration and the buttons its status allows. */
  update() {
    const run = this.state.run;
    if (this.chip && this.chip.dataset.status !== run.status) setStatus(this.chip, run.status);
    for (const button of this.buttons) {
      const when = button.dataset.when.split(" ").filter(Boolean);
      button.hidden = when.length > 0 && !when.includes(run.status);
    }
    this._duration();
  }

  _duration() {
    if (!this.duration) return;
    const run = this.state.run;
    const start = toSeconds(run.started_at);
    if (start === null) return;
    const end = toSeconds(run.finished_at) ?? (this.state.live ? Date.now() / 1000 : toSeconds(run.updated_at));
    if (end !== null) this.duration.textContent = formatDuration(Math.max(end - start, 0));
    if (this.durationLabel) this.durationLabel.textContent = this.state.live ? "so far" : "took";
  }

  _say(text, tone) {
    this.message.replaceChildren(h("p", { class: `alert alert-${tone}`, role: tone === "error" ? "alert" : "status" }, text));
  }

  async _act(button) {
    const action = button.dataset.action;
    if (action === "resume") {
      this.onResume();
      return;
    }
    if (CONFIRM[action] && !window.confirm(CONFIRM[action])) return;
    button.disabled = true;
    try {
      if (action === "rerun") {
        const run = await postJson(button.dataset.api, this.data.rerun);
        window.location.assign(`/runs/${encodeURIComponent(run.run_id)}/`);
        return;
      }
      await postJson(button.dataset.api, action === "continue" ? {} : undefined);
      this._say(DONE[action], "ok");
    } catch (error) {
      const detail = error instanceof ApiError ? error.message : String(error);
      const hint = error instanceof ApiError && error.status === 409 ? " The page shows the run's current state." : "";
      this._say(`${button.textContent.replace("…", "")} refused: ${detail}${hint}`, "error");
    } finally {
      button.disabled = false;
    }
  }
}
