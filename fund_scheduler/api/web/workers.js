/* fund-scheduler dashboard: the workers on other hosts (plain JavaScript, no dependencies).
 *
 * The card #workers-section lists GET /api/workers: each worker (name, host, queues, up / silent /
 * stopped, its last heartbeat, runs held of its slots) and each queue (messages waiting at the
 * broker, runs queued and running, the live workers taking it; a queue nobody takes is marked).
 * The card stays hidden while no broker is set and no worker ever ran. Text reaches the page
 * through textContent only. The list is read again every 10 seconds.
 */
"use strict";

(function () {
  const POLL_MS = 10000;
  const $ = (id) => document.getElementById(id);
  const { t } = window.fsI18n;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function badge(text, tone) {
    return el("span", { class: `status tone-${tone}` }, text);
  }

  function workerState(w) {
    if (w.alive) return badge(t("up"), "ok");
    return w.stopped_at ? badge(t("stopped"), "warn") : badge(t("silent"), "bad");
  }

  function renderWorkers(workers) {
    const body = $("workers").querySelector("tbody");
    body.replaceChildren(
      ...workers.map((w) => {
        const tr = el("tr", { "data-worker": String(w.name || ""), "data-alive": String(Boolean(w.alive)) });
        tr.appendChild(el("td", {}, w.name));
        tr.appendChild(el("td", {}, w.host));
        tr.appendChild(el("td", {}, (w.queues || []).join(", ")));
        const state = el("td");
        state.appendChild(workerState(w));
        tr.appendChild(state);
        const age = Number(w.heartbeat_age_seconds);
        tr.appendChild(el("td", { title: String(w.heartbeat_at || "") }, Number.isFinite(age) ? t("{n}s ago", { n: Math.round(age) }) : "–"));
        tr.appendChild(el("td", {}, `${w.running}/${w.concurrency}`));
        return tr;
      }),
    );
    $("workers-empty").hidden = workers.length > 0;
  }

  function renderQueues(queues) {
    const body = $("queues").querySelector("tbody");
    body.replaceChildren(
      ...queues.map((q) => {
        const takers = Array.isArray(q.workers) ? q.workers : [];
        const tr = el("tr", { "data-queue": String(q.name || ""), "data-workers": String(takers.length) });
        tr.appendChild(el("td", {}, q.name));
        tr.appendChild(el("td", {}, q.at_broker === null || q.at_broker === undefined ? "?" : q.at_broker));
        tr.appendChild(el("td", {}, q.queued));
        tr.appendChild(el("td", {}, q.running));
        const who = el("td");
        if (takers.length) who.textContent = takers.join(", ");
        else who.appendChild(badge(t("no worker"), "bad"));
        tr.appendChild(who);
        return tr;
      }),
    );
  }

  async function load() {
    try {
      const response = await fetch("/api/workers", { headers: { Accept: "application/json" }, cache: "no-store" });
      if (!response.ok) return;
      const body = await response.json();
      const workers = Array.isArray(body.workers) ? body.workers.filter((w) => w && typeof w === "object") : [];
      const queues = Array.isArray(body.queues) ? body.queues.filter((q) => q && typeof q === "object") : [];
      $("workers-section").hidden = !body.broker && workers.length === 0;
      $("workers-broker").textContent = body.broker || "–";
      renderWorkers(workers);
      renderQueues(queues);
    } catch (_err) {
      // the other sections report an unreachable daemon
    } finally {
      setTimeout(load, POLL_MS);
    }
  }

  document.addEventListener("DOMContentLoaded", load);
})();
