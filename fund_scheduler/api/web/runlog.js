/* fund-scheduler dashboard: a run's whole log in a panel (plain JavaScript, no dependencies).
 *
 * A "full log" button (data-runlog="<execution id>", added by app.js to each execution's output
 * row) opens the panel #runlog and reads GET /api/executions/<id>/log from offset 0. While the
 * answer is not "complete" (the run is running, or more is left to read) it asks again from
 * "next_offset": at once while a backlog remains, else every second. Closing the panel or
 * opening another log stops the previous one. Text reaches the page through textContent only.
 */
"use strict";

(function () {
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);
  const { t } = window.fsI18n;

  let current = null; // {id, offset, timer, stopped}

  function stop() {
    if (!current) return;
    current.stopped = true;
    clearTimeout(current.timer);
    current = null;
  }

  function close() {
    stop();
    $("runlog").hidden = true;
  }

  function open(id) {
    stop();
    $("runlog-title").textContent = t("log of execution {id}", { id });
    $("runlog-state").textContent = t("loading…");
    $("runlog-text").textContent = "";
    $("runlog").setAttribute("data-execution-id", id);
    $("runlog").removeAttribute("data-complete");
    $("runlog").hidden = false;
    current = { id, offset: 0, timer: null, stopped: false };
    poll(current);
  }

  async function poll(reader) {
    let again = POLL_MS;
    try {
      const url = `/api/executions/${encodeURIComponent(reader.id)}/log?offset=${reader.offset}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => null);
      if (reader.stopped) return;
      if (!response.ok) {
        const reason = body && body.error ? body.error : `HTTP ${response.status}`;
        $("runlog-state").textContent = t("cannot read the log: {reason}", { reason });
        return;
      }
      append(body.text);
      reader.offset = body.next_offset;
      if (body.complete) {
        $("runlog-state").textContent = t("{status}; {size} bytes", { status: body.status, size: body.size });
        $("runlog").setAttribute("data-complete", "true");
        return;
      }
      $("runlog-state").textContent = t("{status}: following…", { status: body.status });
      if (body.next_offset < body.size) again = 0; // a backlog: read it at once
    } catch (err) {
      if (reader.stopped) return;
      $("runlog-state").textContent = t("cannot read the log: {reason}; retrying", { reason: err.message });
    }
    reader.timer = setTimeout(() => poll(reader), again);
  }

  function append(text) {
    if (!text) return;
    const pre = $("runlog-text");
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.appendChild(document.createTextNode(text));
    if (atBottom) pre.scrollTop = pre.scrollHeight; // keep following unless the reader scrolled up
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-runlog]");
    if (button) open(button.getAttribute("data-runlog"));
  });
  // Any part of the page opens a run's log with this event (the timeline's bars).
  document.addEventListener("fs:open-log", (event) => {
    event.preventDefault();
    open(String(event.detail.executionId));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("runlog").hidden) close();
  });
  document.addEventListener("DOMContentLoaded", () => $("runlog-close").addEventListener("click", close));
})();
