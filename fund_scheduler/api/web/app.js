/* fund-scheduler dashboard: plain JavaScript, no build step, no dependencies.
 *
 * Reads GET /api/status, /api/jobs, /api/executions, /health and /reports/ every few seconds and updates
 * the page in place (rows are keyed by job id / execution id, so buttons, expanded rows and
 * the token survive a refresh). Writes (run / pause / resume) send the API token as
 * "Authorization: Bearer <token>"; the token is asked for once and kept in sessionStorage.
 *
 * Every value from the API reaches the DOM through textContent or setAttribute, never
 * innerHTML. What a run status means (finished? a failure? its colour) comes from the API
 * ("statuses" in /api/status); the dashboard panels of the job packages are drawn from what
 * they declare ("tables", "notes" in /health), whatever their domain.
 *
 * The executions list is filtered (job, status, trigger, business date) and paged by the cursor
 * of GET /api/executions (before_id); the filter lives in the URL (#executions?job=x&status=failed)
 * so that a link (the failure banner's) opens the list filtered.
 */
"use strict";

(function () {
  const REFRESH_MS = 5000;
  const BUSY_REFRESH_MS = 1500; // while an execution is running
  const PAGE_ROWS = 50;
  const FILTERS = ["job", "status", "trigger", "date_from", "date_to"];
  const CHART_FETCH = 100;
  const CHART_RUNS = 20;
  const TOKEN_KEY = "fund-scheduler.api-token";
  const SVG_NS = "http://www.w3.org/2000/svg";

  const state = {
    expanded: new Set(), // execution ids whose output row is open
    outputs: new Map(), // execution id -> {status, text} fetched from /api/executions/<id>
    pendingAction: null, // {action, jobId} waiting for a token
    timer: null,
    busy: false,
    successRates: {},
    statuses: {}, // status -> {final, failure, ran, tone, severity}, from /api/status
    filter: {}, // the executions filter: FILTERS -> value, from the URL
    cursor: null, // before_id of the page shown (null: the first page)
    cursors: [], // the cursors of the pages before it (for Prev)
    nextCursor: null, // before_id of the next page, or null: none
  };

  const $ = (id) => document.getElementById(id);
  const { t, tn } = window.fsI18n;

  // -- small helpers -------------------------------------------------------------------------
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function setText(node, value) {
    const text = value === undefined || value === null || value === "" ? "–" : String(value);
    if (node.textContent !== text) node.textContent = text;
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function parseTime(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    return isNaN(d.getTime()) ? null : d;
  }

  const zoneFormats = new Map();

  /** An Intl formatter for `timeZone` (an IANA name), or null when the browser does not know it. */
  function zoneFormat(timeZone) {
    if (!zoneFormats.has(timeZone)) {
      let format = null;
      try {
        format = new Intl.DateTimeFormat("en-US", {
          timeZone,
          hourCycle: "h23",
          year: "numeric",
          month: "2-digit",
          day: "2-digit",
          hour: "2-digit",
          minute: "2-digit",
          second: "2-digit",
          timeZoneName: "short",
        });
      } catch (_err) {
        format = null;
      }
      zoneFormats.set(timeZone, format);
    }
    return zoneFormats.get(timeZone);
  }

  /** "YYYY-MM-DD HH:MM:SS" of an ISO time in the browser's zone, or in `timeZone` with its
   * short name appended ("… GMT+8"); "–" without a time. */
  function formatTime(iso, timeZone) {
    const d = parseTime(iso);
    if (!d) return "–";
    const format = timeZone ? zoneFormat(timeZone) : null;
    if (format) {
      const p = Object.fromEntries(format.formatToParts(d).map((part) => [part.type, part.value]));
      return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} ${p.timeZoneName || ""}`.trim();
    }
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }

  /** "1 d 3 h", "4 m 2 s", "0.8 s" */
  function formatSeconds(value) {
    if (value === undefined || value === null || value === "" || isNaN(Number(value))) return "–";
    let s = Number(value);
    if (s < 10) return t("{s} s", { s: s.toFixed(s < 1 ? 2 : 1) });
    s = Math.round(s);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (d) return t("{d} d {h} h", { d, h });
    if (h) return t("{h} h {m} m", { h, m });
    if (m) return t("{m} m {s} s", { m, s: sec });
    return t("{s} s", { s: sec });
  }

  function relative(iso) {
    const d = parseTime(iso);
    if (!d) return "";
    const diff = (d.getTime() - Date.now()) / 1000;
    const text = formatSeconds(Math.abs(diff));
    return diff >= 0 ? t("in {time}", { time: text }) : t("{time} ago", { time: text });
  }

  function formatRate(rate) {
    if (rate === undefined || rate === null || isNaN(Number(rate))) return "–";
    return `${Math.round(Number(rate) * 1000) / 10} %`;
  }

  /** The tone (ok, run, warn, bad) of a run status, as the API declares it. */
  function toneOf(status) {
    const meaning = state.statuses[String(status)];
    return meaning && meaning.tone ? String(meaning.tone).replace(/[^a-z_]/gi, "") : "idle";
  }

  function isFinal(status) {
    const meaning = state.statuses[String(status)];
    return meaning ? Boolean(meaning.final) : status !== "running";
  }

  function isFailure(status) {
    const meaning = state.statuses[String(status)];
    return meaning ? Boolean(meaning.failure) : false;
  }

  /** A run status's words in the page's language (the API's label), else the status itself. */
  function statusLabel(status) {
    const meaning = state.statuses[String(status)];
    return meaning && meaning.label ? String(meaning.label) : String(status);
  }

  function statusBadge(status, tone, label) {
    const name = status ? String(status) : "none";
    const cls = `status tone-${tone ? String(tone).replace(/[^a-z_]/gi, "") : toneOf(name)}`;
    return el("span", { class: cls, "data-status": name }, status ? label || statusLabel(status) : "–");
  }

  function replaceChildren(node, ...children) {
    node.replaceChildren(...children);
  }

  // -- HTTP ----------------------------------------------------------------------------------
  async function getJson(path) {
    const response = await fetch(path, { headers: { Accept: "application/json" }, cache: "no-store" });
    let body = null;
    try {
      body = await response.json();
    } catch (_err) {
      body = null;
    }
    if (!response.ok && body === null) throw new Error(t("{path}: HTTP {code}", { path, code: response.status }));
    return { ok: response.ok, status: response.status, body };
  }

  function messageOf(body, fallback) {
    if (body && typeof body === "object") {
      for (const key of ["error", "message", "detail", "description"]) {
        if (typeof body[key] === "string" && body[key]) return body[key];
      }
    }
    if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
    return fallback;
  }

  // -- banners -------------------------------------------------------------------------------
  function showError(text) {
    $("error-message").textContent = text;
    $("error-banner").hidden = false;
  }

  function clearError() {
    $("error-banner").hidden = true;
    $("error-message").textContent = "";
  }

  let noticeTimer = null;
  function showNotice(text) {
    $("notice-message").textContent = text;
    $("notice-banner").hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      $("notice-banner").hidden = true;
    }, 6000);
  }

  // -- token ---------------------------------------------------------------------------------
  function getToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (_err) {
      return state.memoryToken || "";
    }
  }

  function setToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (_err) {
      state.memoryToken = token; // storage disabled: keep it for this page only
    }
    renderTokenState();
  }

  function renderTokenState() {
    const has = Boolean(getToken());
    $("token-state").textContent =
      state.writesEnabled === false
        ? t("read-only: SCHEDULER_API_TOKEN is not set")
        : has
          ? t("token set for this session")
          : t("no token");
    $("token-forget").hidden = !has;
  }

  function askForToken(pending) {
    state.pendingAction = pending;
    $("token-pending").textContent = pending
      ? t("Needed to {action} {job}.", { action: actionWord(pending.action), job: pending.jobId })
      : "";
    $("token-form").hidden = false;
    $("token-input").value = "";
    $("token-input").focus();
  }

  function onTokenSubmit(event) {
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (!token) return;
    setToken(token);
    $("token-form").hidden = true;
    $("token-input").value = "";
    const pending = state.pendingAction;
    state.pendingAction = null;
    if (pending) doAction(pending.action, pending.jobId);
  }

  // -- actions -------------------------------------------------------------------------------
  const VERB = { run: "run", pause: "pause", resume: "resume" };

  /** What an action is called on the page. */
  function actionWord(action) {
    const words = { run: t("run"), pause: t("pause"), resume: t("resume"), "run-for": t("run") };
    return words[action] || String(action);
  }

  async function doAction(action, jobId) {
    if (action === "run-for" && window.fundSchedulerRunDialog) {
      window.fundSchedulerRunDialog.open(jobId);
      return;
    }
    if (!VERB[action]) return;
    const token = getToken();
    if (!token) {
      askForToken({ action, jobId });
      return;
    }
    let response;
    let body = null;
    try {
      response = await fetch(`/api/jobs/${encodeURIComponent(jobId)}/${action}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
        cache: "no-store",
      });
      const text = await response.text();
      try {
        body = JSON.parse(text);
      } catch (_err) {
        body = text;
      }
    } catch (err) {
      showError(
        t("{action} {job}: the daemon did not answer ({reason})", {
          action: actionWord(action),
          job: jobId,
          reason: err.message,
        }),
      );
      return;
    }
    if (response.ok) {
      clearError();
      if (action === "run") {
        showNotice(
          body && body.execution_id !== undefined
            ? t("{job}: run started (execution {id})", { job: jobId, id: body.execution_id })
            : t("{job}: run started", { job: jobId }),
        );
      } else {
        showNotice(action === "pause" ? t("{job}: paused", { job: jobId }) : t("{job}: resumed", { job: jobId }));
      }
    } else {
      const reason = messageOf(body, response.statusText || t("request failed"));
      showError(
        t("{action} {job} refused (HTTP {code}): {reason}", {
          action: actionWord(action),
          job: jobId,
          code: response.status,
          reason,
        }),
      );
      if (response.status === 401) {
        setToken(""); // wrong token: ask again next time
      }
    }
    refresh();
  }

  function onJobsClick(event) {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    const row = button.closest("tr[data-job-id]");
    if (!row) return;
    doAction(button.getAttribute("data-action"), row.getAttribute("data-job-id"));
  }

  // -- jobs table ----------------------------------------------------------------------------
  // Column labels, repeated in each cell for the phone layout (CSS shows them via attr()).
  const JOB_LABELS = {
    id: t("id"),
    name: t("name"),
    trigger: t("schedule"),
    next: t("next run"),
    last: t("last run"),
    rate: t("7-day success"),
    state: t("state"),
  };

  function jobRow(job) {
    const tr = el("tr", { "data-job-id": job.id });
    for (const [field, label] of Object.entries(JOB_LABELS)) {
      tr.appendChild(el("td", { "data-field": field, "data-label": label }));
    }
    const actions = el("td", { "data-field": "actions", "data-label": "", class: "actions" });
    actions.appendChild(el("button", { type: "button", "data-action": "run" }, t("Run now")));
    // A past business date and the job's parameters: rundialog.js.
    actions.appendChild(el("button", { type: "button", "data-action": "run-for" }, t("Run for a date…")));
    actions.appendChild(el("button", { type: "button", "data-action": "pause" }, t("Pause")));
    actions.appendChild(el("button", { type: "button", "data-action": "resume" }, t("Resume")));
    tr.appendChild(actions);
    return tr;
  }

  function cell(tr, field) {
    return tr.querySelector(`td[data-field="${field}"]`);
  }

  function renderJobs(jobs) {
    const tbody = $("jobs").tBodies[0];
    const existing = new Map();
    for (const tr of tbody.querySelectorAll("tr[data-job-id]")) existing.set(tr.getAttribute("data-job-id"), tr);
    const seen = new Set();
    for (const job of jobs) {
      if (!job || job.id === undefined) continue;
      const id = String(job.id);
      seen.add(id);
      const tr = existing.get(id) || jobRow(job);
      const enabled = job.enabled !== false;
      const paused = Boolean(job.paused);
      setText(cell(tr, "id"), id);
      setText(cell(tr, "name"), job.name);
      // The schedule in words (the page's language); the technical trigger on hover.
      setText(cell(tr, "trigger"), job.schedule || job.trigger);
      const tz = job.timezone ? ` (${job.timezone})` : "";
      cell(tr, "trigger").title = job.trigger ? String(job.trigger) : "";
      const done = enabled && job.done_at ? t("done ({time})", { time: formatTime(job.done_at, job.timezone) }) : null;
      const next = job.next_run_time ? formatTime(job.next_run_time, job.timezone) : done || (paused ? t("paused") : "–");
      setText(cell(tr, "next"), next);
      cell(tr, "next").title = job.next_run_time ? `${job.next_run_time}${tz} · ${relative(job.next_run_time)}` : "";

      const last = job.last_execution;
      const lastCell = cell(tr, "last");
      const lastKey = last ? `${last.id}:${last.status}` : "none";
      if (lastCell.getAttribute("data-key") !== lastKey) {
        lastCell.setAttribute("data-key", lastKey);
        if (last) {
          const when = el("span", { class: "sub" }, formatTime(last.started_at));
          lastCell.replaceChildren(statusBadge(last.status), " ", when);
          lastCell.title = last.error ? String(last.error) : "";
        } else {
          lastCell.replaceChildren(el("span", { class: "sub" }, t("never")));
          lastCell.title = "";
        }
      }
      const rate = state.successRates[id];
      const counts =
        rate && rate.success !== undefined ? ` (${rate.success}/${rate.runs})` : rate ? ` (${rate.runs})` : "";
      setText(cell(tr, "rate"), rate ? `${formatRate(rate.rate)}${counts}` : "–");

      const stateCell = cell(tr, "state");
      const stateText = !enabled ? "disabled" : done ? "done" : paused ? "paused" : "active";
      const stateWords = { disabled: t("disabled"), done: t("done"), paused: t("paused"), active: t("active") };
      setText(stateCell, stateWords[stateText]);
      stateCell.className = `state state-${stateText}`;
      stateCell.title = !enabled && job.disabled_reason ? String(job.disabled_reason) : "";
      tr.setAttribute("data-paused", String(paused));
      tr.setAttribute("data-enabled", String(enabled));

      tr.querySelector('button[data-action="run"]').disabled = !enabled;
      tr.querySelector('button[data-action="pause"]').disabled = !enabled || paused;
      tr.querySelector('button[data-action="resume"]').disabled = !enabled || !paused;
      tbody.appendChild(tr); // (re)append keeps the API's order
    }
    for (const [id, tr] of existing) if (!seen.has(id)) tr.remove();
    $("jobs-empty").hidden = seen.size > 0;
  }

  // -- executions table ----------------------------------------------------------------------
  // Column labels, repeated in each cell for the phone layout (one card per run).
  const EXECUTION_LABELS = {
    id: "#",
    job: t("job"),
    status: t("status"),
    started: t("started"),
    duration: t("duration"),
    trigger: t("trigger"),
    error: t("error"),
  };
  const TRIGGER_WORDS = {
    schedule: t("schedule"),
    manual: t("manual"),
    retry: t("retry"),
    dependency: t("dependency"),
    startup: t("startup"),
    backfill: t("backfill"),
  };
  function executionRow(id) {
    const tr = el("tr", { "data-execution-id": id, class: "execution" });
    const toggleCell = el("td", { "data-field": "toggle" });
    const toggle = el("button", {
      type: "button",
      class: "toggle",
      "data-action": "expand",
      "aria-expanded": "false",
      "aria-label": t("output of execution {id}", { id }),
    }, "▸");
    toggleCell.appendChild(toggle);
    tr.appendChild(toggleCell);
    for (const [field, label] of Object.entries(EXECUTION_LABELS)) {
      tr.appendChild(el("td", { "data-field": field, "data-label": label }));
    }
    return tr;
  }

  function outputRow(id, status) {
    const tr = el("tr", { class: "output-row", "data-output-for": id });
    const td = el("td", { colspan: 8 });
    td.appendChild(el("pre", { class: "output-tail" }, t("loading…")));
    // The whole log in a panel that follows a running run: runlog.js.
    td.appendChild(el("button", { type: "button", class: "full-log", "data-runlog": id }, t("full log")));
    if (status === "running" || status === "queued") {
      // Ends the run's process group (a queued run: before a worker takes it): operate.js.
      td.appendChild(el("button", { type: "button", class: "cancel-run", "data-cancel-execution": id }, t("cancel")));
    }
    tr.appendChild(td);
    return tr;
  }

  function renderExecutions(rows) {
    const tbody = $("executions").tBodies[0];
    const existing = new Map();
    for (const tr of tbody.querySelectorAll("tr[data-execution-id]")) {
      existing.set(tr.getAttribute("data-execution-id"), tr);
    }
    const outputs = new Map();
    for (const tr of tbody.querySelectorAll("tr[data-output-for]")) outputs.set(tr.getAttribute("data-output-for"), tr);
    const seen = new Set();
    for (const row of rows.slice(0, PAGE_ROWS)) {
      if (!row || row.id === undefined) continue;
      const id = String(row.id);
      seen.add(id);
      const tr = existing.get(id) || executionRow(id);
      setText(cell(tr, "id"), id);
      setText(cell(tr, "job"), row.job_id);
      // A run on a worker names it: "schedule · cpu1@host-b" (its queue in the tooltip).
      const triggerWord = TRIGGER_WORDS[row.trigger] || row.trigger;
      setText(cell(tr, "trigger"), row.worker ? `${triggerWord} · ${row.worker}` : triggerWord);
      cell(tr, "trigger").title = row.queue
        ? t("on a worker: {worker} (queue {queue})", { worker: row.worker || "–", queue: row.queue })
        : "";
      const statusCell = cell(tr, "status");
      if (statusCell.getAttribute("data-status") !== String(row.status)) {
        statusCell.setAttribute("data-status", String(row.status));
        statusCell.replaceChildren(statusBadge(row.status));
      }
      tr.setAttribute("data-status", String(row.status));
      setText(cell(tr, "started"), formatTime(row.started_at));
      const unfinished = row.status === "queued" ? t("queued…") : t("running…");
      setText(cell(tr, "duration"), isFinal(row.status) ? formatSeconds(row.duration) : unfinished);
      const errorCell = cell(tr, "error");
      const failed = isFailure(row.status);
      const errorText = row.error || (failed && row.exit_code ? t("exit code {code}", { code: row.exit_code }) : "");
      if (!errorCell.firstChild) errorCell.appendChild(el("div", { class: "error-text" }));
      if (errorCell.firstChild.textContent !== errorText) errorCell.firstChild.textContent = errorText;
      errorCell.title = row.error ? String(row.error) : "";
      tbody.appendChild(tr);
      if (state.expanded.has(id)) {
        const out = outputs.get(id) || outputRow(id, row.status);
        tbody.appendChild(out);
        const cached = state.outputs.get(id);
        if (!cached || cached.status !== row.status) loadOutput(id, row.status);
      }
    }
    for (const [id, tr] of existing) if (!seen.has(id)) tr.remove();
    for (const [id, tr] of outputs) if (!seen.has(id) || !state.expanded.has(id)) tr.remove();
    for (const id of [...state.expanded]) if (!seen.has(id)) state.expanded.delete(id);
    $("executions-empty").hidden = seen.size > 0;
  }

  async function loadOutput(id, status) {
    state.outputs.set(id, { status, text: null });
    let text;
    try {
      const { ok, status: code, body } = await getJson(`/api/executions/${encodeURIComponent(id)}`);
      if (!ok) text = t("could not load the output (HTTP {code}): {reason}", { code, reason: messageOf(body, "") });
      else text = body && body.output_tail ? String(body.output_tail) : t("(no output)");
    } catch (err) {
      text = t("could not load the output: {reason}", { reason: err.message });
      state.outputs.delete(id); // try again next refresh
    }
    if (state.outputs.has(id)) state.outputs.get(id).text = text;
    const pre = document.querySelector(`#executions tr[data-output-for="${CSS.escape(id)}"] pre`);
    if (pre) pre.textContent = text;
  }

  function onExecutionsClick(event) {
    if (event.target.closest("tr.output-row")) return; // let people select the output
    const row = event.target.closest("tr[data-execution-id]");
    if (!row) return;
    const id = row.getAttribute("data-execution-id");
    const toggle = row.querySelector("button.toggle");
    const tbody = row.parentNode;
    if (state.expanded.has(id)) {
      state.expanded.delete(id);
      const out = tbody.querySelector(`tr[data-output-for="${CSS.escape(id)}"]`);
      if (out) out.remove();
      toggle.setAttribute("aria-expanded", "false");
      toggle.textContent = "▸";
      row.classList.remove("expanded");
      return;
    }
    state.expanded.add(id);
    toggle.setAttribute("aria-expanded", "true");
    toggle.textContent = "▾";
    row.classList.add("expanded");
    const out = outputRow(id, row.getAttribute("data-status"));
    row.after(out);
    const cached = state.outputs.get(id);
    if (cached && cached.text !== null && cached.status === row.getAttribute("data-status")) {
      out.querySelector("pre").textContent = cached.text;
    } else {
      loadOutput(id, row.getAttribute("data-status"));
    }
  }

  // -- duration chart ------------------------------------------------------------------------
  function renderChart(rows) {
    const byJob = new Map();
    for (const row of rows) {
      if (!row || !isFinal(row.status) || row.duration === null || row.duration === undefined) continue;
      const duration = Number(row.duration);
      if (isNaN(duration)) continue;
      if (!byJob.has(row.job_id)) byJob.set(row.job_id, []);
      const list = byJob.get(row.job_id);
      if (list.length < CHART_RUNS) list.push(row); // rows come newest first
    }
    const chart = $("duration-chart");
    const blocks = [];
    for (const [jobId, list] of [...byJob.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0])))) {
      const runs = list.slice().reverse(); // oldest first
      const max = Math.max(...runs.map((r) => Number(r.duration)), 0.001);
      const line = el("div", { class: "spark-row", "data-job-id": jobId });
      line.appendChild(el("span", { class: "spark-label" }, jobId));
      const svg = document.createElementNS(SVG_NS, "svg");
      svg.setAttribute("class", "spark");
      svg.setAttribute("viewBox", `0 0 ${CHART_RUNS * 10} 30`);
      svg.setAttribute("preserveAspectRatio", "none");
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", tn("durations of the last {n} run of {job}", "durations of the last {n} runs of {job}", runs.length, { job: jobId }));
      runs.forEach((r, i) => {
        const h = Math.max((Number(r.duration) / max) * 28, 1);
        const rect = document.createElementNS(SVG_NS, "rect");
        rect.setAttribute("x", String(i * 10 + 1));
        rect.setAttribute("y", String(30 - h));
        rect.setAttribute("width", "8");
        rect.setAttribute("height", String(h));
        rect.setAttribute("class", `bar tone-${toneOf(r.status)}`);
        const title = document.createElementNS(SVG_NS, "title");
        title.textContent = `#${r.id} ${statusLabel(r.status)} ${formatSeconds(r.duration)} · ${formatTime(r.started_at)}`;
        rect.appendChild(title);
        svg.appendChild(rect);
      });
      line.appendChild(svg);
      const lastRun = runs[runs.length - 1];
      line.appendChild(
        el("span", { class: "spark-value" }, t("last {last} · max {max}", { last: formatSeconds(lastRun.duration), max: formatSeconds(max) })),
      );
      blocks.push(line);
    }
    if (!blocks.length) blocks.push(el("p", { class: "hint" }, t("No finished runs yet.")));
    replaceChildren(chart, ...blocks);
  }

  // -- status and health ---------------------------------------------------------------------
  function renderStatus(status, reachable) {
    const pill = $("daemon-status");
    if (!reachable) {
      pill.setAttribute("data-state", "down");
      pill.textContent = t("unreachable");
      return;
    }
    status = status || {};
    const running = status.scheduler_running !== false;
    pill.setAttribute("data-state", running ? "up" : "down");
    pill.textContent = running ? t("running") : t("scheduler stopped");
    setText($("daemon-uptime"), status.uptime !== undefined ? formatSeconds(status.uptime) : null);
    $("daemon-uptime").title = status.started_at ? t("since {time}", { time: formatTime(status.started_at) }) : "";
    setText($("daemon-pid"), status.pid);
    setText($("daemon-version"), status.version);
    setText($("daemon-running"), status.running_executions);
    state.successRates = normaliseRates(status.success_7d);
    if (status.statuses && typeof status.statuses === "object") state.statuses = status.statuses;
    if (state.writesEnabled !== status.writes_enabled) {
      state.writesEnabled = status.writes_enabled;
      renderTokenState();
    }
  }

  /** {job: {runs, success, rate}} from the status's success_7d (dict or list). */
  function normaliseRates(raw) {
    const out = {};
    if (!raw) return out;
    const items = Array.isArray(raw) ? raw.map((r) => [r.job_id || r.id, r]) : Object.entries(raw);
    for (const [jobId, r] of items) {
      if (!jobId || !r || typeof r !== "object") continue;
      const rate = r.rate !== undefined ? r.rate : r.success_rate;
      out[jobId] = { runs: r.runs !== undefined ? r.runs : "?", success: r.success, rate };
    }
    return out;
  }

  function renderHealth(health, reachable) {
    const pill = $("health-status");
    if (!reachable || !health) {
      pill.setAttribute("data-state", "down");
      pill.textContent = t("unreachable");
      return;
    }
    const status = String(health.status || "unknown");
    const healthWords = { healthy: t("healthy"), degraded: t("degraded"), unhealthy: t("unhealthy") };
    const failures = health.failures_24h && typeof health.failures_24h === "object" ? health.failures_24h : null;
    const failed = failures ? Number(failures.count) || 0 : 0;
    let pillState = status === "healthy" ? "up" : status === "degraded" ? "warn" : "down";
    let pillText = healthWords[status] || status;
    if (failed && status === "healthy") {
      pillState = "warn"; // never a plain "healthy" while runs failed
      pillText = tn("healthy — {n} failure in 24 h", "healthy — {n} failures in 24 h", failed);
    }
    pill.setAttribute("data-state", pillState);
    setText(pill, pillText);
    renderFailureBanner(failures);
    const sched = health.scheduler_running;
    setText($("health-scheduler"), sched === undefined ? null : sched ? t("running") : t("NOT running"));
    const age = health.heartbeat_age_seconds;
    setText($("health-heartbeat"), age === undefined || age === null ? null : t("{time} ago", { time: formatSeconds(age) }));
    const db = health.database;
    setText(
      $("health-database"),
      db === undefined
        ? null
        : typeof db === "object" && db
          ? db.ok
            ? t("ok")
            : t("error")
          : db === true
            ? t("ok")
            : db === false
              ? t("unreachable")
              : db,
    );
    const jobs = health.jobs;
    setText($("health-jobs"), Array.isArray(jobs) ? jobs.length : jobs && typeof jobs === "object" ? Object.keys(jobs).length : jobs);

    renderProblems(Array.isArray(health.problems) ? health.problems : []);
    renderPanels(Array.isArray(health.panels) ? health.panels : []);
    renderChecks(Array.isArray(health.checks) ? health.checks : []);
  }

  /** Why the daemon is not healthy, one line each, as /health says it. */
  function renderProblems(problems) {
    const list = $("health-problems");
    const lines = problems.map(String);
    if (list.dataset.lines === JSON.stringify(lines)) return;
    list.dataset.lines = JSON.stringify(lines);
    list.replaceChildren(...lines.map((line) => el("li", {}, line)));
    list.hidden = lines.length === 0;
  }

  // -- freshness (check jobs) ----------------------------------------------------------------
  /** The check jobs' states from /health: check, state (ok / breach badge), since, summary. */
  function renderChecks(checks) {
    const body = $("checks").querySelector("tbody");
    const rows = checks.filter((c) => c && typeof c === "object");
    const tones = { ok: "ok", breach: "bad" };
    body.replaceChildren(
      ...rows.map((c) => {
        const tr = el("tr", { "data-check": String(c.job_id || ""), "data-state": String(c.state || "none") });
        tr.appendChild(el("td", {}, String(c.job_id || "")));
        const state = el("td");
        const checkWords = { ok: t("ok"), breach: t("breach") };
        state.appendChild(statusBadge(c.state || "not checked", tones[c.state] || "run", checkWords[c.state] || t("not checked")));
        tr.appendChild(state);
        tr.appendChild(el("td", { title: c.since || "" }, c.since ? `${formatTime(c.since)} (${relative(c.since)})` : "–"));
        tr.appendChild(el("td", { class: "check-summary" }, String(c.summary || "")));
        return tr;
      }),
    );
    $("checks-empty").hidden = rows.length > 0;
  }

  // -- chain (dependencies with deadlines) ---------------------------------------------------
  const CHAIN_TONES = { succeeded: "ok", running: "run", waiting: "run", not_run: "run", no_session: "ok" };

  /** The dependency chains from /api/chain: each step in order, what it runs after, today's
   *  deadline (in the step's zone) and where today's run stands (a badge and the words). */
  function renderChain(steps) {
    const body = $("chain").querySelector("tbody");
    const rows = steps.filter((s) => s && typeof s === "object");
    body.replaceChildren(
      ...rows.map((s) => {
        const step = String(s.job || "");
        const tr = el("tr", { "data-step": step, "data-state": String(s.state || "") });
        tr.appendChild(el("td", {}, step));
        tr.appendChild(el("td", {}, Array.isArray(s.after) && s.after.length ? s.after.map(String).join(", ") : "–"));
        const deadline = typeof s.deadline === "string" ? s.deadline : "";
        tr.appendChild(el("td", { title: deadline }, deadline ? deadline.slice(11, 16) : "–"));
        const today = el("td", { class: "chain-today" });
        const word = String(s.state || "").replace(/_/g, " ");
        const chainWords = {
          succeeded: t("succeeded"),
          running: t("running"),
          waiting: t("waiting"),
          not_run: t("not run"),
          no_session: t("no session"),
        };
        const label = chainWords[s.state] || (state.statuses[s.state] ? statusLabel(s.state) : word);
        today.appendChild(statusBadge(word, CHAIN_TONES[s.state] || toneOf(String(s.state || "")), label));
        today.appendChild(el("span", { class: "sub" }, ` ${String(s.text || "")}`));
        tr.appendChild(today);
        return tr;
      }),
    );
    $("chain-empty").hidden = rows.length > 0;
  }

  async function loadChain() {
    try {
      const answer = await getJson("/api/chain");
      if (answer.ok) renderChain(listOf(answer.body, "chain"));
    } catch (_err) {
      // the other sections report an unreachable daemon
    }
  }

  // -- panels ------------------------------------------------------------------------------
  /** A panel cell: text, or {text, tone} drawn as a badge. */
  function panelCell(value) {
    const td = el("td");
    if (value && typeof value === "object" && !Array.isArray(value)) {
      td.appendChild(statusBadge(value.text, value.tone));
    } else {
      td.textContent = value === undefined || value === null || value === "" ? "–" : String(value);
    }
    return td;
  }

  function panelTable(table) {
    const wrap = el("div", { class: "table-wrap" });
    const node = el("table", { class: "panel-table" });
    const head = el("tr");
    for (const column of Array.isArray(table.columns) ? table.columns : []) head.appendChild(el("th", {}, column));
    node.appendChild(el("thead")).appendChild(head);
    const body = node.appendChild(el("tbody"));
    for (const row of Array.isArray(table.rows) ? table.rows : []) {
      if (!Array.isArray(row)) continue;
      const tr = el("tr", { "data-key": row.length ? String(row[0] && row[0].text !== undefined ? row[0].text : row[0]) : "" });
      for (const value of row) tr.appendChild(panelCell(value));
      body.appendChild(tr);
    }
    wrap.appendChild(node);
    return wrap;
  }

  /** Every panel the job packages contribute, drawn from what it declares (tables, notes). */
  function renderPanels(panels) {
    const blocks = [];
    for (const panel of panels) {
      if (!panel || typeof panel !== "object") continue;
      const section = el("section", { class: "panel", "data-panel": panel.name || "" });
      for (const table of Array.isArray(panel.tables) ? panel.tables : []) {
        section.appendChild(el("h3", {}, table.title || panel.title || panel.name));
        section.appendChild(panelTable(table));
      }
      if (!panel.ok) {
        section.appendChild(el("h3", {}, panel.title || panel.name));
        section.appendChild(el("p", { class: "hint panel-error" }, t("unavailable: {reason}", { reason: panel.error || t("error") })));
      }
      const notes = Array.isArray(panel.notes) ? panel.notes.map(String) : [];
      if (notes.length) section.appendChild(el("p", { class: "hint" }, notes.join(" · ")));
      if (section.childNodes.length) blocks.push(section);
    }
    replaceChildren($("panels"), ...blocks);
  }

  // -- failure banner ------------------------------------------------------------------------
  /** "N failures in the last 24 h: job_a (failed 08:01), …", each job a link to the executions
   *  filtered by that job and status; hidden without failures. */
  function renderFailureBanner(failures) {
    const banner = $("failure-banner");
    const groups = failures && Array.isArray(failures.jobs) ? failures.jobs.filter((g) => g && g.job_id) : [];
    const count = failures ? Number(failures.count) || 0 : 0;
    const key = JSON.stringify([count, groups]);
    if (banner.dataset.key === key) return;
    banner.dataset.key = key;
    const message = $("failure-message");
    if (!count) {
      banner.hidden = true;
      message.replaceChildren();
      return;
    }
    const hours = failures.hours || 24;
    const parts = [
      document.createTextNode(
        tn("{n} failure in the last {hours} h: ", "{n} failures in the last {hours} h: ", count, { hours }),
      ),
    ];
    groups.forEach((g, i) => {
      if (i) parts.push(document.createTextNode(", "));
      const link = el("a", { href: filterHash({ job: String(g.job_id), status: String(g.status) }), "data-job-id": g.job_id });
      link.textContent = String(g.job_id);
      parts.push(link);
      const when = formatTime(g.last_started_at).slice(11, 16);
      const times = Number(g.count) > 1 ? `, ${g.count}×` : "";
      parts.push(document.createTextNode(` (${statusLabel(g.status)} ${when}${times})`));
    });
    message.replaceChildren(...parts);
    banner.hidden = false;
  }

  // -- executions filter and paging ----------------------------------------------------------
  /** "#executions?job=x&status=failed" for a filter (and a page cursor). */
  function filterHash(filter, cursor) {
    const query = new URLSearchParams();
    for (const name of FILTERS) if (filter[name]) query.set(name, filter[name]);
    if (cursor) query.set("before_id", String(cursor));
    const text = query.toString();
    return text ? `#executions?${text}` : "#executions";
  }

  /** The filter and cursor the URL names (an empty filter without "#executions?…"). */
  function readHash() {
    const hash = window.location.hash || "";
    const filter = {};
    let cursor = null;
    if (hash.startsWith("#executions")) {
      const query = new URLSearchParams(hash.slice("#executions".length).replace(/^\?/, ""));
      for (const name of FILTERS) if (query.get(name)) filter[name] = query.get(name);
      const before = query.get("before_id");
      if (before && /^[0-9]+$/.test(before)) cursor = before;
    }
    return { filter, cursor };
  }

  function onHashChange() {
    // Another card's address (#fund?code=…, a view's query) leaves the executions as they are.
    if (window.location.hash && !window.location.hash.startsWith("#executions")) return;
    const { filter, cursor } = readHash();
    const sameFilter = JSON.stringify(filter) === JSON.stringify(state.filter);
    if (!sameFilter || !cursor) state.cursors = [];
    else if (cursor !== state.cursor && !state.cursors.includes(cursor)) state.cursors.push(state.cursor);
    state.filter = filter;
    state.cursor = cursor;
    showFilter();
    loadExecutions();
    if (window.location.hash.startsWith("#executions")) $("executions-section").scrollIntoView();
  }

  /** The filter's form showing state.filter (an option added for a value not listed yet). */
  function showFilter() {
    const fields = { job: "filter-job", status: "filter-status", trigger: "filter-trigger" };
    for (const [name, id] of Object.entries(fields)) {
      const select = $(id);
      const value = state.filter[name] || "";
      if (value && ![...select.options].some((o) => o.value === value)) select.appendChild(el("option", { value }, value));
      select.value = value;
    }
    $("filter-date-from").value = state.filter.date_from || "";
    $("filter-date-to").value = state.filter.date_to || "";
  }

  /** The job ids and the run statuses as the selects' options (kept selected). */
  function fillFilterOptions(jobRows) {
    const ids = jobRows.map((j) => j && (j.id || j.job_id)).filter(Boolean).map(String).sort();
    const statuses = Object.keys(state.statuses);
    for (const [id, values] of [["filter-job", ids], ["filter-status", statuses]]) {
      const select = $(id);
      const listed = [...select.options].map((o) => o.value).filter(Boolean);
      const wanted = [...new Set([...values, ...listed])].sort();
      if (JSON.stringify(wanted) === JSON.stringify(listed)) continue;
      const value = select.value;
      const word = id === "filter-status" ? statusLabel : String;
      select.replaceChildren(el("option", { value: "" }, t("all")), ...wanted.map((v) => el("option", { value: v }, word(v))));
      select.value = value;
    }
  }

  function onFilterChange() {
    const filter = {};
    const fields = { job: "filter-job", status: "filter-status", trigger: "filter-trigger", date_from: "filter-date-from", date_to: "filter-date-to" };
    for (const [name, id] of Object.entries(fields)) if ($(id).value) filter[name] = $(id).value;
    window.location.hash = filterHash(filter);
  }

  let executionsRequest = 0;
  async function loadExecutions() {
    const query = new URLSearchParams({ limit: String(PAGE_ROWS) });
    for (const name of FILTERS) if (state.filter[name]) query.set(name, state.filter[name]);
    if (state.cursor) query.set("before_id", state.cursor);
    const asked = ++executionsRequest;
    let answer;
    try {
      answer = await getJson(`/api/executions?${query}`);
    } catch (_err) {
      return; // the other sections report an unreachable daemon
    }
    if (asked !== executionsRequest) return; // a newer filter was asked for meanwhile
    if (!answer.ok) {
      showError(messageOf(answer.body, t("executions: HTTP {code}", { code: answer.status })));
      return;
    }
    renderExecutions(listOf(answer.body, "executions"));
    const next = answer.body && answer.body.next_before_id;
    state.nextCursor = next === undefined || next === null ? null : String(next);
    $("executions-next").disabled = state.nextCursor === null;
    $("executions-prev").disabled = !state.cursor;
    $("executions-page").textContent = t("page {n}", { n: state.cursors.length + 1 });
  }

  function onPage(step) {
    if (step > 0 && state.nextCursor) {
      window.location.hash = filterHash(state.filter, state.nextCursor);
    } else if (step < 0 && state.cursor) {
      const previous = state.cursors.pop() || null;
      state.cursor = previous; // so that onHashChange does not push it again
      window.location.hash = filterHash(state.filter, previous);
    }
  }

  // -- weekly reports ------------------------------------------------------------------------
  function formatSize(bytes) {
    const n = Number(bytes);
    if (isNaN(n)) return "–";
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
    return `${(n / 1024 / 1024).toFixed(1)} MB`;
  }

  async function loadReports() {
    let answer;
    try {
      answer = await getJson("/reports/");
    } catch (_err) {
      return;
    }
    if (!answer.ok) return;
    const reports = listOf(answer.body, "reports").filter((r) => r && r.name);
    const body = $("reports").tBodies[0];
    const key = JSON.stringify(reports);
    if (body.dataset.key === key) return;
    body.dataset.key = key;
    body.replaceChildren(
      ...reports.map((r) => {
        const tr = el("tr", { "data-report": String(r.name) });
        const link = el("a", { href: `/reports/${encodeURIComponent(String(r.name))}` }, String(r.name));
        tr.appendChild(el("td")).appendChild(link);
        tr.appendChild(el("td", {}, r.week || "–"));
        tr.appendChild(el("td", {}, formatSize(r.size)));
        tr.appendChild(el("td", {}, formatTime(r.modified)));
        return tr;
      }),
    );
    $("reports-empty").hidden = reports.length > 0;
  }

  // -- refresh loop --------------------------------------------------------------------------
  async function refresh() {
    clearTimeout(state.timer);
    if (state.busy) {
      state.timer = setTimeout(refresh, 300);
      return;
    }
    state.busy = true;
    let anyRunning = false;
    try {
      const [status, jobs, executions, health] = await Promise.allSettled([
        getJson("/api/status"),
        getJson("/api/jobs"),
        getJson(`/api/executions?limit=${CHART_FETCH}`),
        getJson("/health"),
      ]);
      const ok = (r) => r.status === "fulfilled" && r.value.ok;
      const reachable = [status, jobs, executions, health].some((r) => r.status === "fulfilled");
      renderStatus(ok(status) ? status.value.body : null, reachable && ok(status));
      renderHealth(health.status === "fulfilled" ? health.value.body : null, health.status === "fulfilled");
      if (ok(jobs)) {
        const jobRows = listOf(jobs.value.body, "jobs");
        renderJobs(jobRows);
        fillFilterOptions(jobRows);
      }
      await loadChain();
      if (ok(executions)) {
        const rows = listOf(executions.value.body, "executions");
        renderChart(rows);
        anyRunning = rows.slice(0, PAGE_ROWS).some((r) => r && (r.status === "running" || r.status === "queued"));
      }
      await loadExecutions();
      await loadReports();
      $("last-refresh").textContent = reachable ? formatTime(new Date().toISOString()).slice(11) : t("failed");
    } finally {
      state.busy = false;
      state.timer = setTimeout(refresh, anyRunning ? BUSY_REFRESH_MS : REFRESH_MS);
    }
  }

  /** A list body, or the list under `key` of an object body. */
  function listOf(body, key) {
    if (Array.isArray(body)) return body;
    if (body && Array.isArray(body[key])) return body[key];
    return [];
  }

  function start() {
    $("jobs").addEventListener("click", onJobsClick);
    $("executions").addEventListener("click", onExecutionsClick);
    $("token-form").addEventListener("submit", onTokenSubmit);
    $("token-cancel").addEventListener("click", () => {
      $("token-form").hidden = true;
      state.pendingAction = null;
    });
    $("token-forget").addEventListener("click", () => setToken(""));
    $("error-close").addEventListener("click", clearError);
    $("executions-filter").addEventListener("change", onFilterChange);
    $("executions-filter").addEventListener("submit", (event) => event.preventDefault());
    $("filter-clear").addEventListener("click", () => {
      window.location.hash = "#executions";
    });
    $("executions-prev").addEventListener("click", () => onPage(-1));
    $("executions-next").addEventListener("click", () => onPage(1));
    window.addEventListener("hashchange", onHashChange);
    const initial = readHash();
    state.filter = initial.filter;
    state.cursor = initial.cursor;
    showFilter();
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) refresh();
    });
    try {
      $("local-zone").textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || t("local");
    } catch (_err) {
      // keep "local"
    }
    renderTokenState();
    // The token for the page's other writes (backfills.js).
    window.fundScheduler = { getToken, askForToken, showNotice, showError, refresh };
    refresh();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
