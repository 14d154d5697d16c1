/* fund-scheduler dashboard: cancel a run, and the audit trail (plain JavaScript, no dependencies).
 *
 * A "cancel" button (data-cancel-execution="<execution id>", added by app.js to a running run's
 * output row) asks for confirmation and POSTs /api/executions/<id>/cancel with the token app.js
 * keeps (window.fundScheduler); the answer or the refusal shows in the page's banners. The
 * section #audit-section lists GET /api/audit (who did what, newest first), read again every
 * 10 seconds. Text reaches the page through textContent only.
 */
"use strict";

(function () {
  const POLL_MS = 10000;
  const $ = (id) => document.getElementById(id);
  const { t } = window.fsI18n;

  function page() {
    return window.fundScheduler || null;
  }

  async function cancel(id) {
    const app = page();
    if (!app) return;
    const token = app.getToken();
    if (!token) {
      app.askForToken({ action: "cancel", jobId: t("execution {id}", { id }) });
      return;
    }
    if (!window.confirm(t("Cancel execution {id}? Its process group is ended.", { id }))) return;
    let response;
    let body = {};
    try {
      response = await fetch(`/api/executions/${encodeURIComponent(id)}/cancel`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
        cache: "no-store",
      });
      body = await response.json();
    } catch (err) {
      app.showError(t("cancel {id}: the daemon did not answer ({reason})", { id, reason: err.message }));
      return;
    }
    if (response.ok) app.showNotice(t("execution {id}: cancelling ({job})", { id, job: body.job }));
    else {
      app.showError(
        t("cancel {id} refused (HTTP {code}): {reason}", {
          id,
          code: response.status,
          reason: body.error || response.statusText,
        }),
      );
    }
    app.refresh();
    loadAudit();
  }

  function change(before, after) {
    if (after && typeof after === "object") {
      return Object.keys(after)
        .filter((k) => !before || typeof before !== "object" || JSON.stringify(before[k]) !== JSON.stringify(after[k]))
        .map((k) => (before && typeof before === "object" && k in before
          ? `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`
          : `${k}=${JSON.stringify(after[k])}`))
        .join(", ");
    }
    return "";
  }

  function row(entry) {
    const tr = document.createElement("tr");
    tr.setAttribute("data-action", entry.action);
    const when = new Date(entry.at);
    const cells = [
      Number.isNaN(when.getTime()) ? entry.at : when.toLocaleString(),
      entry.actor,
      `${entry.via}${entry.origin ? ` ${entry.origin}` : ""}`,
      entry.action,
      entry.target || "-",
      entry.outcome || "",
      change(entry.before, entry.after),
    ];
    for (const value of cells) {
      const td = document.createElement("td");
      td.textContent = String(value);
      tr.appendChild(td);
    }
    return tr;
  }

  async function loadAudit() {
    let body;
    try {
      const response = await fetch("/api/audit?limit=30", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      body = await response.json();
    } catch (_err) {
      return;
    }
    const rows = body.audit || [];
    $("audit").tBodies[0].replaceChildren(...rows.map(row));
    $("audit-empty").hidden = rows.length > 0;
  }

  function start() {
    document.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-cancel-execution]");
      if (button) cancel(button.getAttribute("data-cancel-execution"));
    });
    if ($("audit")) {
      loadAudit();
      setInterval(loadAudit, POLL_MS);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
