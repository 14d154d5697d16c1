/* fund-scheduler dashboard: run a job for a chosen business date with its parameters (plain
 * JavaScript, no dependencies).
 *
 * A job row's "Run for a date…" button (data-action="run-for") opens the dialog #run-dialog:
 * the business date (default today), one field per parameter the job declares (GET
 * /api/jobs/<id>: name, type, default, help) and "with dependents". Submitting posts
 * {run_date, params, with_dependents} to POST /api/jobs/<id>/run with the token app.js keeps
 * (window.fundScheduler); a refusal (HTTP 400 naming the parameter) stays in the dialog.
 * Text reaches the page through textContent and input values only.
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const { t } = window.fsI18n;
  let current = null; // {jobId, params}

  function today() {
    const d = new Date();
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  }

  function field(param) {
    const label = document.createElement("label");
    label.className = "run-param";
    const name = document.createElement("span");
    name.textContent = param.required
      ? t("{name} ({type}, required)", { name: param.name, type: param.type })
      : `${param.name} (${param.type})`;
    label.appendChild(name);
    const input = document.createElement("input");
    input.name = param.name;
    input.setAttribute("data-param", param.name);
    if (param.type === "bool") {
      input.type = "checkbox";
      input.checked = param.default === true;
    } else {
      input.type = param.type === "int" || param.type === "float" ? "number" : param.type === "date" ? "date" : "text";
      if (param.type === "float") input.step = "any";
      if (param.default !== null && param.default !== undefined) input.placeholder = String(param.default);
    }
    label.appendChild(input);
    if (param.help) {
      const help = document.createElement("small");
      help.textContent = param.help;
      label.appendChild(help);
    }
    return label;
  }

  async function open(jobId) {
    let job = null;
    try {
      const response = await fetch(`/api/jobs/${encodeURIComponent(jobId)}`, { headers: { Accept: "application/json" } });
      job = await response.json();
    } catch (_err) {
      job = null;
    }
    current = { jobId, params: (job && job.params) || [] };
    $("run-dialog-title").textContent = t("Run {job}", { job: jobId });
    $("run-date").value = today();
    $("run-date").max = today();
    $("run-with-dependents").checked = false;
    $("run-params").replaceChildren(...current.params.map(field));
    $("run-error").textContent = "";
    $("run-dialog").hidden = false;
    $("run-date").focus();
  }

  function close() {
    $("run-dialog").hidden = true;
    current = null;
  }

  async function submit(event) {
    event.preventDefault();
    if (!current) return;
    const app = window.fundScheduler;
    const token = app ? app.getToken() : "";
    if (!token) {
      $("run-error").textContent = t("A token is needed: use a job's Run now button once to enter it.");
      if (app) app.askForToken({ action: "run", jobId: current.jobId });
      return;
    }
    const params = {};
    for (const input of $("run-params").querySelectorAll("input[data-param]")) {
      if (input.type === "checkbox") params[input.name] = input.checked;
      else if (input.value !== "") params[input.name] = input.value;
    }
    const body = { run_date: $("run-date").value, params, with_dependents: $("run-with-dependents").checked };
    const jobId = current.jobId;
    let response;
    let answer = {};
    try {
      response = await fetch(`/api/jobs/${encodeURIComponent(jobId)}/run`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(body),
        cache: "no-store",
      });
      answer = await response.json();
    } catch (err) {
      $("run-error").textContent = t("the daemon did not answer ({reason})", { reason: err.message });
      return;
    }
    if (!response.ok) {
      $("run-error").textContent = t("refused (HTTP {code}): {reason}", {
        code: response.status,
        reason: answer.error || response.statusText,
      });
      return;
    }
    close();
    app.showNotice(
      t("{job}: run for {date} started (execution {id})", { job: jobId, date: answer.run_date, id: answer.execution_id }),
    );
    app.refresh();
  }

  function start() {
    if (!$("run-dialog")) return;
    $("run-form").addEventListener("submit", submit);
    $("run-cancel").addEventListener("click", close);
    window.fundSchedulerRunDialog = { open };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
