/* fund-scheduler dashboard: the views, the job packages' panels that take a query (plain
 * JavaScript, no dependencies).
 *
 * GET /api/panels lists them ({views: [{name, title, inputs: [{name, label, pattern, required,
 * default, example, kind}]}]}); each gets a card (the <template id="view-template"> of
 * partials/views.html) with a form of its inputs. A query lives in the URL hash,
 * "#<view>?<input>=<value>&...", so a link opens it: submitting the form sets the hash, and a
 * hash naming a view runs GET /api/panels/<view>?<query> and draws its answer, whatever its
 * domain: "charts" as SVG line charts over dates (axes labelled, the last value marked), "tables"
 * (a cell {text, query} is a link to that query of the view query.panel names: a drill-down;
 * {text, tone} a badge), "notes". A view whose inputs are all optional is shown at once with its
 * defaults. 400 names the input (marked invalid); other errors show in the card.
 *
 * API values reach the page through textContent and setAttribute only; no inline style (the
 * CSP): chart sizes are SVG attributes, colours classes of views.css.
 */
"use strict";

(function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const CHART_H = 240;
  const PAD = { top: 24, right: 16, bottom: 30, left: 56 };
  const LONG_CELL = 32; // characters: a longer cell may wrap (views.css .long)
  const { t } = window.fsI18n;
  const $ = (id) => document.getElementById(id);

  // name -> {view, card, form, state, error, body, seq, answer}
  const cards = new Map();

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const safe = (value) => String(value).replace(/[^A-Za-z0-9_-]/g, "");

  // -- the hash: "#<view>?<query>" ----------------------------------------------------------
  function hashOf(name, query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) {
      if (k !== "panel" && v !== undefined && v !== null && v !== "") params.set(k, String(v));
    }
    const text = params.toString();
    return `#${encodeURIComponent(name)}${text ? `?${text}` : ""}`;
  }

  /** {name, query} the hash names, or null when it names no view. */
  function readHash() {
    const hash = window.location.hash || "";
    const match = /^#([^?]+)(?:\?(.*))?$/.exec(hash);
    if (!match) return null;
    let name;
    try {
      name = decodeURIComponent(match[1]);
    } catch (_err) {
      return null;
    }
    if (!cards.has(name)) return null;
    const query = {};
    for (const [k, v] of new URLSearchParams(match[2] || "")) query[k] = v;
    return { name, query };
  }

  // -- cards -----------------------------------------------------------------------------------
  function buildCard(view) {
    const template = $("view-template");
    const card = template.content.firstElementChild.cloneNode(true);
    card.id = `view-${safe(view.name)}`;
    card.setAttribute("data-view", view.name);
    card.querySelector(".view-title").textContent = view.title || view.name;
    const form = card.querySelector(".view-form");
    const fields = card.querySelector(".view-fields");
    for (const input of Array.isArray(view.inputs) ? view.inputs : []) {
      const id = `view-${safe(view.name)}-${safe(input.name)}`;
      const label = el("label", { for: id }, input.label || input.name);
      const kind = ["text", "date", "number"].includes(input.kind) ? input.kind : "text";
      const field = el("input", { id, name: input.name, type: kind, autocomplete: "off" });
      if (kind === "text" && input.pattern) field.setAttribute("pattern", input.pattern);
      if (kind === "number") field.setAttribute("min", "1");
      if (input.required) field.required = true;
      if (input.example) field.setAttribute("placeholder", input.example);
      if (input.default !== null && input.default !== undefined) field.value = String(input.default);
      field.setAttribute("data-default", input.default === null || input.default === undefined ? "" : String(input.default));
      const wrap = el("div", { class: "view-field" });
      wrap.append(label, field);
      fields.appendChild(wrap);
    }
    const entry = {
      view,
      card,
      form,
      state: card.querySelector(".view-state"),
      error: card.querySelector(".view-error"),
      body: card.querySelector(".view-body"),
      seq: 0,
      answer: null,
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = {};
      for (const field of form.querySelectorAll("input[name]")) if (field.value !== "") query[field.name] = field.value;
      const hash = hashOf(view.name, query);
      if (window.location.hash === hash) load(entry, query, false);
      else window.location.hash = hash;
    });
    card.querySelector(".view-clear").addEventListener("click", () => {
      for (const field of form.querySelectorAll("input[name]")) {
        field.value = field.getAttribute("data-default") || "";
        field.removeAttribute("aria-invalid");
      }
      entry.error.hidden = true;
      entry.body.replaceChildren();
      entry.answer = null;
      entry.state.textContent = "";
      if (window.location.hash.startsWith(`#${encodeURIComponent(view.name)}`)) {
        history.replaceState(null, "", window.location.pathname + window.location.search);
      }
      if (allOptional(view)) load(entry, {}, false);
    });
    cards.set(view.name, entry);
    return card;
  }

  function allOptional(view) {
    return (Array.isArray(view.inputs) ? view.inputs : []).every((i) => !i.required);
  }

  function fillForm(entry, query) {
    for (const field of entry.form.querySelectorAll("input[name]")) {
      const given = query[field.name];
      field.value = given !== undefined ? given : field.getAttribute("data-default") || "";
      field.removeAttribute("aria-invalid");
    }
  }

  // -- loading ---------------------------------------------------------------------------------
  async function load(entry, query, scroll) {
    const seq = ++entry.seq;
    fillForm(entry, query);
    entry.card.setAttribute("data-state", "loading");
    entry.state.textContent = t("loading…");
    entry.error.hidden = true;
    if (scroll) entry.card.scrollIntoView({ block: "start" });
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (k !== "panel" && v !== "") params.set(k, v);
    let response = null;
    let body = null;
    try {
      response = await fetch(`/api/panels/${encodeURIComponent(entry.view.name)}?${params}`, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      body = await response.json().catch(() => null);
    } catch (err) {
      if (seq !== entry.seq) return;
      showError(entry, t("unavailable: {reason}", { reason: String(err && err.message ? err.message : err) }));
      return;
    }
    if (seq !== entry.seq) return; // a newer query was asked meanwhile
    if (response.status === 400 && body && body.field) {
      const field = entry.form.querySelector(`input[name="${safe(body.field)}"]`);
      if (field) field.setAttribute("aria-invalid", "true");
      showError(entry, body.error || t("error"));
      return;
    }
    if (!response.ok && !(body && body.title)) {
      showError(entry, t("unavailable: {reason}", { reason: (body && body.error) || `HTTP ${response.status}` }));
      return;
    }
    entry.answer = body;
    entry.card.setAttribute("data-state", body.ok ? "ready" : "error");
    entry.state.textContent = "";
    render(entry);
    if (!body.ok) showError(entry, t("unavailable: {reason}", { reason: body.error || t("error") }));
  }

  function showError(entry, message) {
    entry.card.setAttribute("data-state", "error");
    entry.state.textContent = "";
    entry.error.textContent = message;
    entry.error.hidden = false;
  }

  // -- drawing ---------------------------------------------------------------------------------
  function render(entry) {
    const answer = entry.answer || {};
    const blocks = [];
    if (answer.title) blocks.push(el("h3", { class: "view-answer-title" }, answer.title));
    for (const chart of Array.isArray(answer.charts) ? answer.charts : []) blocks.push(chartBlock(chart, entry.body));
    for (const table of Array.isArray(answer.tables) ? answer.tables : []) blocks.push(...tableBlock(table));
    const notes = Array.isArray(answer.notes) ? answer.notes.map(String) : [];
    if (notes.length) {
      const list = el("ul", { class: "view-notes hint" });
      for (const note of notes) list.appendChild(el("li", {}, note));
      blocks.push(list);
    }
    entry.body.replaceChildren(...blocks);
  }

  function cellNode(value) {
    const td = el("td");
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const text = value.text === undefined || value.text === null ? "–" : String(value.text);
      const query = value.query && typeof value.query === "object" ? value.query : null;
      if (query && typeof query.panel === "string" && cards.has(query.panel)) {
        td.appendChild(el("a", { href: hashOf(query.panel, query), class: "view-link" }, text));
      } else if (value.tone) {
        td.appendChild(el("span", { class: `status tone-${safe(value.tone)}` }, text));
      } else {
        td.textContent = text;
      }
      if (text.length > LONG_CELL) td.classList.add("long");
    } else {
      const text = value === undefined || value === null || value === "" ? "–" : String(value);
      td.textContent = text;
      if (text.length > LONG_CELL) td.classList.add("long");
    }
    return td;
  }

  function tableBlock(table) {
    const out = [];
    if (table.title) out.push(el("h4", { class: "view-table-title" }, table.title));
    const wrap = el("div", { class: "table-wrap" });
    const node = el("table", { class: "panel-table view-table" });
    const head = el("tr");
    for (const column of Array.isArray(table.columns) ? table.columns : []) head.appendChild(el("th", {}, column));
    node.appendChild(el("thead")).appendChild(head);
    const body = node.appendChild(el("tbody"));
    const rows = Array.isArray(table.rows) ? table.rows : [];
    for (const row of rows) {
      if (!Array.isArray(row)) continue;
      const tr = el("tr");
      for (const value of row) tr.appendChild(cellNode(value));
      body.appendChild(tr);
    }
    wrap.appendChild(node);
    out.push(wrap);
    if (!rows.length) out.push(el("p", { class: "hint" }, t("No rows.")));
    return out;
  }

  /** "1.2345", with as many decimals as the axis step needs. */
  function formatNumber(value, step) {
    const decimals = step > 0 ? Math.max(0, Math.min(6, Math.ceil(-Math.log10(step)) + 1)) : 4;
    return Number(value).toFixed(decimals);
  }

  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const unit = [1, 2, 2.5, 5, 10].find((m) => m * power >= raw) || 10;
    return unit * power;
  }

  function dayOf(iso) {
    const ms = Date.parse(`${String(iso).slice(0, 10)}T00:00:00Z`);
    return isNaN(ms) ? null : ms;
  }

  /** A line chart of {title, y_label, series: [{name, points: [[iso date, value], ...]}]}. */
  function chartBlock(chart, container) {
    const figure = el("figure", { class: "view-chart" });
    if (chart.title) figure.appendChild(el("figcaption", { class: "view-chart-title" }, chart.title));
    const series = (Array.isArray(chart.series) ? chart.series : [])
      .map((s) => ({
        name: s && s.name ? String(s.name) : "",
        points: (Array.isArray(s && s.points) ? s.points : [])
          .map((p) => (Array.isArray(p) ? [dayOf(p[0]), Number(p[1]), String(p[0]).slice(0, 10)] : null))
          .filter((p) => p && p[0] !== null && isFinite(p[1])),
      }))
      .filter((s) => s.points.length);
    const all = series.flatMap((s) => s.points);
    if (!all.length) {
      figure.appendChild(el("p", { class: "hint" }, t("No data to draw.")));
      return figure;
    }
    const width = Math.max(280, Math.floor((container.clientWidth || 640) - 2));
    const x0 = Math.min(...all.map((p) => p[0]));
    let x1 = Math.max(...all.map((p) => p[0]));
    if (x1 === x0) x1 = x0 + 86400000;
    let y0 = Math.min(...all.map((p) => p[1]));
    let y1 = Math.max(...all.map((p) => p[1]));
    if (y1 === y0) {
      y0 -= Math.abs(y0) * 0.01 || 1;
      y1 += Math.abs(y1) * 0.01 || 1;
    }
    const step = niceStep(y1 - y0, 4);
    y0 = Math.floor(y0 / step) * step;
    y1 = Math.ceil(y1 / step) * step;
    const plotW = width - PAD.left - PAD.right;
    const plotH = CHART_H - PAD.top - PAD.bottom;
    const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * plotW;
    const sy = (y) => PAD.top + (1 - (y - y0) / (y1 - y0)) * plotH;
    const root = svg("svg", {
      class: "view-chart-svg",
      width,
      height: CHART_H,
      viewBox: `0 0 ${width} ${CHART_H}`,
      role: "img",
      "aria-label": chart.title || chart.y_label || "",
      "data-points": all.length,
    });
    root.appendChild(svg("title", {}, chart.title || ""));
    // y axis: grid lines and labels
    for (let y = y0, i = 0; y <= y1 + step / 2 && i < 20; y += step, i++) {
      const py = sy(y);
      root.appendChild(svg("line", { class: "view-grid", x1: PAD.left, x2: width - PAD.right, y1: py, y2: py }));
      root.appendChild(
        svg("text", { class: "view-axis-label", x: PAD.left - 6, y: py + 4, "text-anchor": "end" }, formatNumber(y, step)),
      );
    }
    if (chart.y_label) {
      root.appendChild(svg("text", { class: "view-axis-name", x: 4, y: 11 }, chart.y_label));
    }
    // x axis: about one date label per 110 px, the first and last always
    const labels = Math.max(2, Math.min(8, Math.floor(plotW / 110)));
    const baseY = CHART_H - PAD.bottom;
    root.appendChild(svg("line", { class: "view-axis", x1: PAD.left, x2: width - PAD.right, y1: baseY, y2: baseY }));
    for (let i = 0; i < labels; i++) {
      const x = x0 + ((x1 - x0) * i) / (labels - 1);
      const date = new Date(x).toISOString().slice(0, 10);
      const anchor = i === 0 ? "start" : i === labels - 1 ? "end" : "middle";
      root.appendChild(svg("line", { class: "view-tick", x1: sx(x), x2: sx(x), y1: baseY, y2: baseY + 4 }));
      root.appendChild(
        svg("text", { class: "view-axis-label", x: sx(x), y: baseY + 18, "text-anchor": anchor }, date),
      );
    }
    // the series, the last value of each marked
    const legend = el("ul", { class: "view-legend" });
    series.forEach((s, index) => {
      const cls = `series-${index % 4}`;
      const points = s.points.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
      const line = svg("polyline", { class: `view-line ${cls}`, points, "data-series": s.name, "data-count": s.points.length });
      line.appendChild(svg("title", {}, s.name));
      root.appendChild(line);
      const last = s.points[s.points.length - 1];
      const dot = svg("circle", { class: `view-dot ${cls}`, cx: sx(last[0]), cy: sy(last[1]), r: 3.5 });
      dot.appendChild(svg("title", {}, t("{series}: {value} on {date}", { series: s.name, value: last[1], date: last[2] })));
      root.appendChild(dot);
      const item = el("li", { class: "view-legend-item", "data-series": s.name });
      item.appendChild(el("span", { class: `view-swatch ${cls}` }));
      item.appendChild(document.createTextNode(t("{series}: last {value} ({date})", { series: s.name, value: last[1], date: last[2] })));
      legend.appendChild(item);
    });
    const frame = el("div", { class: "view-chart-frame" });
    frame.appendChild(root);
    figure.append(frame, legend);
    return figure;
  }

  // -- start -----------------------------------------------------------------------------------
  function onHash(scroll) {
    const target = readHash();
    if (target) load(cards.get(target.name), target.query, scroll);
  }

  let resizeTimer = null;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const entry of cards.values()) if (entry.answer && (entry.answer.charts || []).length) render(entry);
    }, 200);
  }

  async function start() {
    const host = $("views");
    if (!host || !$("view-template")) return;
    let views = [];
    try {
      const response = await fetch("/api/panels", { headers: { Accept: "application/json" }, cache: "no-store" });
      const body = await response.json();
      views = body && Array.isArray(body.views) ? body.views : [];
    } catch (_err) {
      views = [];
    }
    const built = views.filter((v) => v && typeof v.name === "string").map(buildCard);
    host.replaceChildren(...built);
    host.setAttribute("data-state", "ready");
    host.setAttribute("data-views", String(built.length));
    const target = readHash();
    for (const entry of cards.values()) {
      if (target && target.name === entry.view.name) continue;
      if (allOptional(entry.view)) load(entry, {}, false);
    }
    if (target) load(cards.get(target.name), target.query, true);
    window.addEventListener("hashchange", () => onHash(true));
    window.addEventListener("resize", onResize);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
