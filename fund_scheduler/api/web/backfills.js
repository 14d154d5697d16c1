/* fund-scheduler dashboard: backfills (plain JavaScript, no dependencies).
 *
 * The form #backfill-form asks POST /api/jobs/<job>/backfill for a range of past dates (a dry run
 * lists the dates without storing anything). The list #backfills shows each backfill of
 * GET /api/backfills as one group: its job, range, state, a progress bar with the ETA, who asked,
 * and each date's state and execution; a running one has a "cancel" button
 * (POST /api/backfills/<id>/cancel). Writes send the token app.js keeps (window.fundScheduler).
 * Text reaches the page through textContent only. The list is read again every 3 seconds.
 */
"use strict";

(function () {
  const POLL_MS = 3000;
  const $ = (id) => document.getElementById(id);
  const { t } = window.fsI18n;
  const STATE_WORDS = {
    pending: t("pending"),
    started: t("run started"),
    running: t("running"),
    done: t("done"),
    success: t("success"),
    failed: t("failed"),
    cancelled: t("cancelled"),
  };
  const stateWord = (value) => STATE_WORDS[value] || String(value || "");

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function say(text, bad) {
    const out = $("backfill-message");
    out.textContent = text;
    out.dataset.tone = bad ? "bad" : "ok";
  }

  function token() {
    const page = window.fundScheduler;
    const value = page ? page.getToken() : "";
    if (!value) {
      say(t("A token is needed: use a job's run button once to enter it, then try again."), true);
      if (page) page.askForToken({ action: "backfill", jobId: $("backfill-job").value });
    }
    return value;
  }

  async function post(path, body) {
    const value = token();
    if (!value) return null;
    const response = await fetch(path, {
      method: "POST",
      headers: { Authorization: `Bearer ${value}`, Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
      cache: "no-store",
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (_err) {
      answer = {};
    }
    if (!response.ok) {
      say(
        t("refused (HTTP {code}): {reason}", {
          code: response.status,
          reason: (answer && answer.error) || response.statusText,
        }),
        true,
      );
      return null;
    }
    return answer;
  }

  async function onSubmit(event) {
    event.preventDefault();
    const dryRun = event.submitter && event.submitter.id === "backfill-dry-run";
    const job = $("backfill-job").value;
    const body = {
      from: $("backfill-from").value,
      to: $("backfill-to").value,
      with_dependents: $("backfill-with-dependents").checked,
      continue_on_failure: $("backfill-continue").checked,
      dry_run: dryRun,
    };
    const answer = await post(`/api/jobs/${encodeURIComponent(job)}/backfill`, body);
    if (!answer) return;
    const dates = answer.run_dates || [];
    if (dryRun) {
      say(t("{job}: {n} run(s) would be made: {dates}", { job, n: dates.length, dates: dates.join(", ") }), false);
    } else {
      say(t("backfill {id}: {n} run(s) of {job}", { id: answer.backfill_id, n: dates.length, job }), false);
      load();
    }
  }

  async function cancel(id) {
    if (!window.confirm(t("Cancel backfill {id} (its dates not started and its run going)?", { id }))) return;
    const answer = await post(`/api/backfills/${encodeURIComponent(id)}/cancel`);
    if (answer) say(t("backfill {id} cancelled", { id }), false);
    load();
  }

  function eta(seconds) {
    if (seconds === null || seconds === undefined) return "";
    const s = Math.round(seconds);
    const left = s >= 60 ? t("about {n} min left", { n: Math.round(s / 60) }) : t("about {n} s left", { n: s });
    return ` · ${left}`;
  }

  function group(b) {
    const box = el("article", { class: "backfill", "data-backfill-id": b.id, "data-state": b.state });
    const head = el("header", { class: "backfill-head" });
    head.appendChild(el("strong", {}, `${b.job_id} ${b.from_date} → ${b.to_date}`));
    head.appendChild(el("span", { class: `status status-${b.state}` }, stateWord(b.state)));
    const settled = b.settled || 0;
    head.appendChild(el("progress", { max: String(b.total), value: String(settled) }));
    const by = t("by {who}", { who: b.requested_by || "-" });
    head.appendChild(el("span", { class: "hint" }, `${settled}/${b.total}${eta(b.eta_seconds)} · ${b.id} · ${by}`));
    if (b.state === "running") {
      const button = el("button", { type: "button", "data-cancel-backfill": b.id }, t("cancel"));
      head.appendChild(button);
    }
    box.appendChild(head);
    if (b.error) box.appendChild(el("p", { class: "backfill-error" }, b.error));
    const list = el("ol", { class: "backfill-runs" });
    for (const run of b.runs || []) {
      const item = el("li", { "data-run-date": run.run_date, "data-state": run.state });
      const which = run.execution_id ? t("execution {id}", { id: run.execution_id }) : "";
      const execution = which ? ` · ${which} ${run.status ? stateWord(run.status) : ""}` : "";
      item.textContent = `${run.run_date} ${stateWord(run.state)}${execution}${run.note ? ` · ${run.note}` : ""}`;
      list.appendChild(item);
    }
    box.appendChild(list);
    return box;
  }

  async function load() {
    let body;
    try {
      const response = await fetch("/api/backfills", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      body = await response.json();
    } catch (_err) {
      return;
    }
    const rows = body.backfills || [];
    $("backfills").replaceChildren(...rows.map(group));
    $("backfills-empty").hidden = rows.length > 0;
  }

  async function loadJobs() {
    try {
      const response = await fetch("/api/jobs", { headers: { Accept: "application/json" }, cache: "no-store" });
      const body = await response.json();
      const jobs = Array.isArray(body) ? body : body.jobs || [];
      const select = $("backfill-job");
      select.replaceChildren(...jobs.map((j) => el("option", { value: j.id }, j.id)));
    } catch (_err) {
      /* the jobs table says the daemon is away */
    }
  }

  function start() {
    if (!$("backfill-form")) return;
    const today = new Date();
    const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    $("backfill-to").value = iso(new Date(today.getTime() - 86400000));
    $("backfill-from").value = iso(new Date(today.getTime() - 7 * 86400000));
    $("backfill-form").addEventListener("submit", onSubmit);
    $("backfills").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-cancel-backfill]");
      if (button) cancel(button.getAttribute("data-cancel-backfill"));
    });
    loadJobs();
    load();
    setInterval(load, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
