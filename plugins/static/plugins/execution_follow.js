// Follows an execution's log on its admin page: asks /v1/.../logs from the last offset until the
// log is complete, and the execution itself for its status and progress while it runs. When an
// execution that was running ends, the page reloads to show its result, error and artifacts.
(function () {
  "use strict";
  const IDLE_DELAY_MS = 1000;

  function start() {
    const panel = document.getElementById("execution-log");
    if (!panel || panel.dataset.complete === "true") {
      return;
    }
    const text = document.getElementById("execution-log-text");
    const state = document.getElementById("execution-log-state");
    let offset = Number(panel.dataset.offset);
    const wasActive = panel.dataset.active === "true";

    async function getJSON(url) {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) {
        throw new Error(`${url} answered ${response.status}`);
      }
      return (await response.json()).data;
    }

    function showExecution(execution) {
      const status = document.getElementById("execution-status");
      if (status) {
        status.textContent = execution.status;
      }
      const progress = document.getElementById("execution-progress");
      if (progress && execution.num_tasks !== null) {
        const bar = progress.querySelector("progress");
        bar.max = Math.max(execution.num_tasks, 1);
        bar.value = (execution.completed_tasks || 0) + (execution.erroneous_tasks || 0);
        progress.querySelector(".numbers").textContent =
          `${execution.completed_tasks || 0} of ${execution.num_tasks} done, ${execution.erroneous_tasks || 0} erroneous`;
      }
    }

    async function step() {
      let delay = IDLE_DELAY_MS;
      try {
        const chunk = await getJSON(`${panel.dataset.logUrl}?offset=${offset}`);
        if (chunk.text) {
          const atBottom = text.scrollTop + text.clientHeight >= text.scrollHeight - 4;
          text.append(chunk.text);
          if (atBottom) {
            text.scrollTop = text.scrollHeight;
          }
          delay = 0; // there may be more right away
        }
        offset = chunk.next_offset;
        panel.dataset.offset = String(offset);
        if (chunk.running) {
          showExecution(await getJSON(panel.dataset.detailUrl));
        }
        if (chunk.complete) {
          panel.dataset.complete = "true";
          state.textContent = `The whole log. The execution ended: ${chunk.status}.`;
          if (wasActive) {
            window.location.reload(); // its result, error and artifacts
          }
          return;
        }
      } catch (error) {
        state.textContent = `Could not read the log (${error.message}); trying again.`;
        delay = 5 * IDLE_DELAY_MS;
      }
      window.setTimeout(step, delay);
    }

    step();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
