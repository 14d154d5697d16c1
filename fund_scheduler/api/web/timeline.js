/* fund-scheduler dashboard: the Timeline card (plain JavaScript, no dependencies).
 *
 * GET /api/timeline?hours=24 every 30 s (and when the page becomes visible again) draws one lane
 * per job in an SVG from now-24 h to now+24 h: hour lines labelled in the browser's zone, a "now"
 * line, runs as bars coloured by their status's tone (start to end, or to now while running),
 * rows that never ran (missed, skipped, coalesced; blocked distinctly) as marks at their fire
 * time, and the fire times of the next 24 h as ticks (a dependent's as deadline flags). Each run
 * and tick has a <title>; a run's bar is focusable and opens its log (click, Enter or Space)
 * through a "fs:open-log" CustomEvent on document ({detail: {executionId}}; runlog.js listens
 * for it). Text reaches the page through textContent
 * and setAttribute only; no inline style (the CSP), sizes are SVG attributes.
 */
"use strict";

(function () {
  const HOURS = 24;
  const REFRESH_MS = 30000;
  const LANE_H = 30; // px per lane: the labels' height in timeline.css is the same
  const AXIS_H = 36; // px of the hour labels above the lanes (also in timeline.css)
  const MIN_PX_PER_HOUR = 14; // narrower than this scrolls sideways inside the card
  const LABEL_GAP = 46; // px at least between two hour labels
  const SVG_NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  const { t, tn } = window.fsI18n;

  // userScrolled: the reader touched the chart (then it stays where they put it; else "now" is
  // kept in the middle when the chart is wider than its box).
  const state = { data: null, timer: null, busy: false, userScrolled: false };

  // -- small helpers -------------------------------------------------------------------------
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function titled(node, text) {
    node.appendChild(svg("title", {}, text));
    return node;
  }

  function ms(iso) {
    if (!iso) return null;
    const value = new Date(iso).getTime();
    return isNaN(value) ? null : value;
  }

  const pad = (n) => String(n).padStart(2, "0");

  /** "YYYY-MM-DD HH:MM:SS" in the browser's zone. */
  function fullTime(value) {
    const d = new Date(value);
    return (
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
    );
  }

  /** "MM-DD HH:MM" in the browser's zone. */
  function shortTime(value) {
    const d = new Date(value);
    return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  /** "1 d 3 h", "4 m 2 s", "0.8 s" (the words of app.js). */
  function duration(seconds) {
    let s = Number(seconds);
    if (!isFinite(s) || s < 0) return "–";
    if (s < 10) return t("{s} s", { s: s.toFixed(s < 1 ? 2 : 1) });
    s = Math.round(s);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d) return t("{d} d {h} h", { d, h });
    if (h) return t("{h} h {m} m", { h, m });
    if (m) return t("{m} m {s} s", { m, s: s % 60 });
    return t("{s} s", { s });
  }

  // -- the log -------------------------------------------------------------------------------
  function openLog(executionId) {
    document.dispatchEvent(new CustomEvent("fs:open-log", { detail: { executionId }, cancelable: true }));
  }

  function onActivate(event) {
    const target = event.target.closest && event.target.closest('[data-kind="bar"][data-execution-id]');
    if (!target) return;
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    openLog(target.getAttribute("data-execution-id"));
  }

  // -- drawing -------------------------------------------------------------------------------
  function laneState(lane) {
    if (lane.removed) return { cls: "removed", text: t("removed") };
    if (!lane.enabled) return { cls: "disabled", text: t("disabled") };
    if (lane.paused) return { cls: "paused", text: t("paused") };
    if (lane.state === "done") return { cls: "done", text: t("done") };
    return { cls: "active", text: "" };
  }

  function laneTitle(lane) {
    const lines = [lane.name && lane.name !== lane.id ? `${lane.id} — ${lane.name}` : lane.id];
    if (lane.schedule) lines.push(lane.schedule);
    if (lane.after && lane.after.length) {
      lines.push(t("runs after {jobs}; its own times are deadlines", { jobs: lane.after.join(", ") }));
    }
    if (lane.disabled_reason) lines.push(lane.disabled_reason);
    return lines.join("\n");
  }

  function renderLabels(lanes) {
    const box = $("timeline-labels");
    const nodes = [el("div", { class: "tl-axis-spacer", "aria-hidden": "true" })];
    for (const lane of lanes) {
      const st = laneState(lane);
      const row = el("div", {
        class: `tl-label tl-${st.cls}`,
        "data-job-id": lane.id,
        "data-state": st.cls,
        title: laneTitle(lane),
      });
      row.appendChild(el("span", { class: "tl-name" }, lane.id));
      if (st.text) row.appendChild(el("span", { class: "tl-badge" }, st.text));
      nodes.push(row);
    }
    box.replaceChildren(...nodes);
  }

  /** The hour step (1, 2, 3, 6 or 12) whose labels are at least LABEL_GAP px apart. */
  function hourStep(pxPerHour) {
    return [1, 2, 3, 6, 12].find((step) => step * pxPerHour >= LABEL_GAP) || 24;
  }

  function drawAxis(group, x, start, end, height, pxPerHour) {
    const step = hourStep(pxPerHour);
    const first = new Date(start);
    first.setMinutes(0, 0, 0);
    let hour = first.getTime() < start ? first.getTime() + 3600000 : first.getTime();
    for (; hour <= end; hour += 3600000) {
      const d = new Date(hour);
      if (d.getHours() % step !== 0) continue;
      const midnight = d.getHours() === 0;
      const at = x(hour);
      group.appendChild(
        svg("line", { class: midnight ? "tl-grid tl-midnight" : "tl-grid", x1: at, x2: at, y1: 16, y2: height }),
      );
      const text = midnight ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())}` : `${pad(d.getHours())}:00`;
      group.appendChild(svg("text", { class: "tl-hour", x: at, y: 12, "text-anchor": "middle" }, text));
    }
  }

  function runTitle(lane, run, now) {
    const lines = [t("{job}: {status}", { job: lane.id, status: run.label || run.status })];
    if (run.kind === "bar") {
      lines.push(t("started {time}", { time: fullTime(ms(run.start)) }));
      if (run.end) {
        const seconds = run.duration != null ? run.duration : (ms(run.end) - ms(run.start)) / 1000;
        lines.push(t("duration {duration}", { duration: duration(seconds) }));
      } else {
        lines.push(t("running for {duration}", { duration: duration((now - ms(run.start)) / 1000) }));
      }
    } else {
      lines.push(t("scheduled {time}", { time: fullTime(ms(run.at)) }));
    }
    if (run.run_date) lines.push(t("business date {date}", { date: run.run_date }));
    if (run.error) lines.push(run.error);
    if (run.kind === "bar" && run.execution_id != null) {
      lines.push(t("execution {id}: click for its log", { id: run.execution_id }));
    }
    return lines.join("\n");
  }

  function drawRun(group, lane, run, x, top, start, now) {
    const mid = top + LANE_H / 2;
    const common = {
      "data-execution-id": run.execution_id,
      "data-status": run.status,
      "data-kind": run.kind,
    };
    const text = runTitle(lane, run, now);
    if (run.kind === "bar") {
      const from = Math.max(ms(run.start), start);
      const to = Math.min(run.end ? ms(run.end) : now, now);
      const x1 = x(from);
      const width = Math.max(3, x(Math.max(to, from)) - x1);
      const bar = svg("rect", {
        ...common,
        class: `tl-run tone-${run.tone}${run.status === "running" ? " tl-running" : ""}`,
        x: x1.toFixed(1),
        y: top + 6,
        width: width.toFixed(1),
        height: LANE_H - 12,
        rx: 2,
        tabindex: 0,
        role: "button",
        "aria-label": text.split("\n").slice(0, 3).join(", "),
      });
      group.appendChild(titled(bar, text));
      return;
    }
    const mark = svg("g", {
      ...common,
      class: `tl-mark tl-mark-${run.status} tone-${run.tone}`,
      transform: `translate(${x(ms(run.at)).toFixed(1)},${mid})`,
      tabindex: 0,
      "aria-label": text.split("\n").slice(0, 2).join(", "),
    });
    if (run.status === "blocked") {
      mark.appendChild(svg("circle", { class: "tl-blocked-ring", r: 7 }));
      mark.appendChild(svg("path", { class: "tl-blocked-cross", d: "M-4,-4L4,4M4,-4L-4,4" }));
    } else if (run.status === "coalesced") {
      mark.appendChild(svg("circle", { class: "tl-coalesced", r: 4 }));
    } else {
      mark.appendChild(svg("path", { class: "tl-diamond", d: "M0,-6L6,0L0,6L-6,0Z" }));
    }
    group.appendChild(titled(mark, text));
  }

  function drawUpcoming(group, lane, x, top, width) {
    for (const fire of lane.upcoming || []) {
      const at = x(ms(fire.at)).toFixed(1);
      if (fire.kind === "deadline") {
        const flag = svg("g", { class: "tl-deadline", transform: `translate(${at},${top})`, "data-kind": "deadline" });
        flag.appendChild(svg("path", { d: `M0,4V${LANE_H - 4}M0,4L7,7.5L0,11Z` }));
        group.appendChild(titled(flag, t("deadline {time}", { time: shortTime(ms(fire.at)) })));
      } else {
        const tick = svg("line", {
          class: "tl-tick",
          "data-kind": "tick",
          x1: at,
          x2: at,
          y1: top + 7,
          y2: top + LANE_H - 7,
        });
        group.appendChild(titled(tick, t("next run {time}", { time: shortTime(ms(fire.at)) })));
      }
    }
    const more = lane.upcoming_more || 0;
    if (more > 0) {
      const words = lane.upcoming_more_at_least
        ? t("and over {n} more", { n: more })
        : tn("and {n} more", "and {n} more", more);
      group.appendChild(
        svg("text", { class: "tl-more", x: width - 4, y: top + LANE_H / 2 + 4, "text-anchor": "end" }, words),
      );
    }
  }

  function render() {
    const data = state.data;
    const box = $("timeline");
    const scroller = $("timeline-scroll");
    if (!data) return;
    const lanes = data.lanes || [];
    $("timeline-empty").hidden = lanes.length > 0;
    box.hidden = lanes.length === 0;
    renderLabels(lanes);
    const start = ms(data.window.start);
    const end = ms(data.window.end);
    const now = ms(data.window.now);
    const hours = (end - start) / 3600000;
    const width = Math.max(scroller.clientWidth || 0, Math.ceil(hours * MIN_PX_PER_HOUR));
    const height = AXIS_H + lanes.length * LANE_H;
    const x = (value) => ((value - start) / (end - start)) * width;

    const chart = svg("svg", {
      class: "tl-svg",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "group",
      "aria-label": t("Runs and fire times from {start} to {end}", {
        start: shortTime(start),
        end: shortTime(end),
      }),
    });
    chart.appendChild(
      svg("rect", { class: "tl-future", x: x(now), y: AXIS_H, width: width - x(now), height: height - AXIS_H }),
    );
    const backgrounds = svg("g", { class: "tl-backgrounds" });
    lanes.forEach((lane, i) => {
      const cls = `tl-lane-bg tl-${laneState(lane).cls}${i % 2 ? " tl-odd" : ""}`;
      backgrounds.appendChild(svg("rect", { class: cls, x: 0, y: AXIS_H + i * LANE_H, width, height: LANE_H }));
    });
    chart.appendChild(backgrounds);
    const axis = svg("g", { class: "tl-axis" });
    drawAxis(axis, x, start, end, height, width / hours);
    chart.appendChild(axis);
    lanes.forEach((lane, i) => {
      const top = AXIS_H + i * LANE_H;
      const group = svg("g", { class: `tl-lane tl-${laneState(lane).cls}`, "data-job-id": lane.id });
      if (lane.runs_more > 0) {
        const words = tn("{n} earlier run not shown", "{n} earlier runs not shown", lane.runs_more);
        group.appendChild(svg("text", { class: "tl-more", x: 4, y: top + LANE_H / 2 + 4 }, words));
      }
      drawUpcoming(group, lane, x, top, width);
      for (const run of lane.runs || []) drawRun(group, lane, run, x, top, start, now);
      chart.appendChild(group);
    });
    const nowX = x(now).toFixed(1);
    chart.appendChild(svg("line", { class: "tl-now", x1: nowX, x2: nowX, y1: AXIS_H - 6, y2: height }));
    chart.appendChild(svg("text", { class: "tl-now-label", x: nowX, y: AXIS_H - 9, "text-anchor": "middle" }, t("now")));
    scroller.replaceChildren(chart);
    box.setAttribute("data-state", "ready");
    if (!state.userScrolled && width > scroller.clientWidth) {
      scroller.scrollLeft = Math.max(0, x(now) - scroller.clientWidth / 2); // now in view on a phone
    }
  }

  // -- loading -------------------------------------------------------------------------------
  async function load() {
    clearTimeout(state.timer);
    if (state.busy) return;
    state.busy = true;
    try {
      const response = await fetch(`/api/timeline?hours=${HOURS}`, { headers: { Accept: "application/json" } });
      const body = await response.json().catch(() => null);
      if (!response.ok || !body || !Array.isArray(body.lanes)) {
        const reason = body && body.error ? body.error : `HTTP ${response.status}`;
        throw new Error(reason);
      }
      state.data = body;
      render();
      $("timeline-state").textContent = t("updated {time}", { time: fullTime(Date.now()).slice(11) });
    } catch (err) {
      $("timeline-state").textContent = t("cannot load the timeline: {reason}", { reason: err.message });
      $("timeline").setAttribute("data-state", "error");
    } finally {
      state.busy = false;
      state.timer = setTimeout(load, REFRESH_MS);
    }
  }

  function start() {
    if (!$("timeline-section")) return;
    $("timeline-state").textContent = t("loading…");
    const scroller = $("timeline-scroll");
    scroller.addEventListener("click", onActivate);
    scroller.addEventListener("keydown", onActivate);
    for (const name of ["wheel", "touchmove", "pointerdown", "keydown"]) {
      scroller.addEventListener(name, () => (state.userScrolled = true), { passive: true });
    }
    let resizing = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizing);
      resizing = setTimeout(() => {
        if (state.data) render(); // a new width; or the same after a turn and back: re-centre
      }, 150);
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) load();
    });
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
