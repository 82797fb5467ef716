// jobgate's dashboard: list the jobs, then follow /events from the list's event cursor (no polling for status).
// Served by jobgate at / with a Content-Security-Policy that allows only its own origin; no external requests.
// Test hooks: rows carry data-job-id and data-status, verb buttons data-verb; <body> carries data-stream
// ("open" or "lost"), data-events (events applied) and data-resyncs (how many resync events re-listed); the
// engine line carries data-states ("local=ready").
"use strict";

const VERBS = ["pause", "resume", "set-speed", "complete", "finalize", "cancel", "dismiss"];
const EVENTS = ["JOB_STATUS_CHANGE", "JOB_PROGRESS", "BLOCK_JOB_READY", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED",
  "BLOCK_JOB_ERROR", "BLOCK_JOB_PENDING", "resync"];
const CONFIRM = {
  cancel: (id, force) => `${force ? "Cancel" : "Cancel (soft)"} job ${id}? This cannot be undone.`,
  dismiss: (id) => `Dismiss job ${id}? QEMU forgets it; its record stays here.`,
  finalize: (id) => `Finalize job ${id}? Its graph changes are applied and cannot be undone.`,
};

const state = {
  jobs: new Map(),      // id -> record
  samples: new Map(),   // id -> [rate, ...] from JOB_PROGRESS, for the chart
  lastEventID: null,
  token: sessionStorage.getItem("jobgate-token"),
  generation: 0,        // of the event stream; an older one's errors are ignored
};

const $ = (selector) => document.querySelector(selector);

function say(text, isError = false) {
  const message = $("#message");
  message.textContent = text;
  message.className = isError ? "error" : "";
}

/** One API call; a problem+json refusal becomes an Error carrying the problem. */
async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    if (response.status === 401) $("#auth").hidden = false;
    const error = new Error((data && (data.desc || data.detail || data.title)) || `${response.status}`);
    error.problem = data;
    error.status = response.status;
    throw error;
  }
  return data;
}

/** Every current job, page by page; returns the first page's event cursor (subscribe from it: nothing is lost). */
async function list() {
  const jobs = new Map();
  let eventCursor = null;
  let cursor = null;
  do {
    const page = await api("GET", `/jobs?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (eventCursor === null) eventCursor = page["event-cursor"];
    for (const record of page.jobs) jobs.set(record.id, record);
    cursor = page["next-cursor"];
  } while (cursor);
  state.jobs = jobs;
  renderAll();
  return eventCursor;
}

/** Follows /events after `after`; reconnects by hand (a ticket opens one stream only), resuming after the last id. */
async function watch(after) {
  const generation = ++state.generation;
  const params = new URLSearchParams();
  if (after) params.set("last-event-id", after);
  if (state.token) params.set("ticket", (await api("POST", "/events/tickets")).ticket);
  const source = new EventSource(`/events?${params}`);
  for (const name of EVENTS) {
    source.addEventListener(name, (event) => {
      if (generation !== state.generation) return;
      if (event.lastEventId) state.lastEventID = event.lastEventId;
      apply(name, JSON.parse(event.data));
    });
  }
  source.onopen = () => { document.body.dataset.stream = "open"; say(""); refreshEngine(); };
  source.onerror = () => {
    if (generation !== state.generation) return;
    source.close();
    document.body.dataset.stream = "lost";
    say("Event stream lost; reconnecting…");
    setTimeout(() => watch(state.lastEventID || after).catch(retryLater), 1000);
  };
}

function retryLater(error) {
  say(`jobgate unreachable (${error.message}); retrying…`, true);
  setTimeout(() => start().catch(retryLater), 2000);
}

/** One event: status and block-job events re-read the record (its allowed verbs follow its status). */
function apply(name, data) {
  document.body.dataset.events = String(Number(document.body.dataset.events || 0) + 1);
  if (name === "resync") {
    document.body.dataset.resyncs = String(Number(document.body.dataset.resyncs || 0) + 1);
    list().then(() => watch(data["event-cursor"])).catch(retryLater);
    return;
  }
  const id = data.id || data.device;
  if (!id) return;
  if (name === "JOB_PROGRESS") {
    const record = state.jobs.get(id);
    if (record) {
      record["current-progress"] = data["current-progress"];
      record["total-progress"] = data["total-progress"];
      record.status = data.status;
      record.stats = Object.assign({}, record.stats, { "recent-rate": data.rate });
      const series = state.samples.get(id) || [];
      series.push(data.rate || 0);
      if (series.length > 60) series.shift();
      state.samples.set(id, series);
      render(record);
    }
    return;
  }
  if (name === "JOB_STATUS_CHANGE") {
    const record = state.jobs.get(id);
    if (record) { record.status = data.status; render(record); }
  }
  reread(id);
}

/** Jobs whose record is to be read again, and those being read: one read per job at a time. */
const stale = new Set();
const reading = new Set();

/**
 * Reads job `id`'s record again (its allowed verbs, history and error follow its status) a moment after its
 * first unread event: every new job makes QEMU pause and resume all the others (a drain), so events come in
 * bursts, and a burst costs one read per job.
 */
function reread(id) {
  if (stale.has(id)) return;
  stale.add(id);
  if (reading.has(id)) return;
  setTimeout(() => readRecord(id), 100);
}

async function readRecord(id) {
  stale.delete(id);
  reading.add(id);
  try {
    const record = await api("GET", `/jobs/${encodeURIComponent(id)}?stats=false`);
    const known = state.jobs.get(id);
    if (known && known.run > record.run) return;
    // Progress events are newer than the record's copy of progress read without stats.
    if (known && known.run === record.run) record.stats = known.stats;
    state.jobs.set(record.id, record);
    render(record);
  } catch {
    // Gone (404) or jobgate away: the next list (after a reconnect or resync) settles it.
  } finally {
    reading.delete(id);
    if (stale.has(id)) { stale.delete(id); reread(id); }
  }
}

function bytes(value) {
  if (value === null || value === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

/** Seconds spent in each status before the last entry of `history`; made once per history read (a long job's
 * history holds a pair of entries for each drain of every job created after it). */
const closedTotals = new WeakMap();

function timeInStatus(record) {
  const history = record["status-history"] || [];
  if (!history.length) return "";
  let totals = closedTotals.get(history);
  if (!totals) {
    totals = {};
    for (let index = 0; index + 1 < history.length; index += 1) {
      const status = history[index].status;
      totals[status] = (totals[status] || 0) + (Date.parse(history[index + 1].at) - Date.parse(history[index].at)) / 1000;
    }
    closedTotals.set(history, totals);
  }
  const last = history[history.length - 1];
  const spent = Object.assign({}, totals);
  spent[last.status] = (spent[last.status] || 0) + (Date.now() - Date.parse(last.at)) / 1000;
  return Object.entries(spent).map(([status, seconds]) => `${status} ${seconds.toFixed(1)} s`).join(", ");
}

/** The throughput chart of a row: a polyline of the job's JOB_PROGRESS rates, redrawn in place. */
function makeChart() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 60 16");
  svg.setAttribute("width", "120");
  svg.setAttribute("height", "24");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "throughput over the job's life");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "currentColor");
  svg.append(line);
  return svg;
}

function drawChart(svg, id) {
  const series = state.samples.get(id) || [];
  const peak = Math.max(1, ...series);
  const step = 60 / Math.max(1, series.length - 1);
  svg.firstChild.setAttribute("points",
    series.map((rate, index) => `${(index * step).toFixed(1)},${(16 - (15 * rate) / peak).toFixed(1)}`).join(" "));
}

/** Time left at the recent rate, as jobgate's stats would say (`eta-seconds`), from the latest progress. */
function eta(record) {
  const rate = (record.stats || {})["recent-rate"];
  const left = (record["total-progress"] || 0) - (record["current-progress"] || 0);
  if (record.status !== "running" || !rate || rate <= 0 || left <= 0) return "–";
  const seconds = Math.round(left / rate);
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

function cell(row, ...children) {
  const td = document.createElement("td");
  td.append(...children);
  row.append(td);
  return td;
}

function verbButton(id, verb, label, force) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.dataset.verb = verb;
  if (force !== undefined) button.dataset.force = String(force);
  button.addEventListener("click", () => runVerb(id, verb, force, button));
  return button;
}

async function runVerb(id, verb, force, button) {
  const body = {};
  if (verb === "cancel") body.force = force;
  if (verb === "set-speed") body.speed = Number(button.previousElementSibling.value || 0);
  if (CONFIRM[verb] && !window.confirm(CONFIRM[verb](id, force))) return;
  try {
    await api("POST", `/jobs/${encodeURIComponent(id)}/${verb}`, body);
    say(`${verb}: ${id} accepted`);
  } catch (error) {
    say(`${verb} ${id} refused: ${error.message}`, true);
  }
}

/** Rows to redraw at the next animation frame: a burst of events costs one redraw per job and frame. */
const dirty = new Set();
let frameQueued = false;

function render(record) {
  dirty.add(record.id);
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(() => {
    frameQueued = false;
    const ids = [...dirty];
    dirty.clear();
    for (const id of ids) {
      const current = state.jobs.get(id);
      if (current) drawRow(current); else drawRow({ id, status: "null" });
    }
  });
}

/** id -> the parts of its row that change; a row is made once and updated in place. */
const rows = new Map();
/** Rows on screen (or near it), and rows off it whose figures changed since they were last drawn. */
const visible = new Set();
const deferred = new Set();
const onScreen = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    const id = entry.target.dataset.jobId;
    if (!entry.isIntersecting) { visible.delete(id); continue; }
    visible.add(id);
    if (deferred.delete(id) && state.jobs.has(id)) render(state.jobs.get(id));
  }
}, { rootMargin: "400px 0px" });

/** Sets `property` of `node` only if it changes: an unchanged write still costs the browser a style pass. */
function set(node, property, value) {
  if (node[property] !== value) node[property] = value;
}

/**
 * The row of one job, made the first time; removed once the job is gone from QEMU (status null). Status, error
 * and verb buttons are kept current on every row; progress, rate and chart only on rows on screen (the others are
 * drawn when scrolled to), since with hundreds of jobs laying out rows nobody sees is what costs a frame.
 */
function drawRow(record) {
  let row = rows.get(record.id);
  if (record.status === "null") {
    if (row) { onScreen.unobserve(row.element); row.element.remove(); }
    rows.delete(record.id);
    return;
  }
  const made = !row;
  if (made) {
    row = makeRow(record.id);
    rows.set(record.id, row);
    $("#jobs tbody").append(row.element);
    onScreen.observe(row.element);
  }
  const element = row.element;
  if (element.dataset.status !== record.status) element.dataset.status = record.status;
  const who = record["created-by"] ? ` by ${record["created-by"]}` : "";
  set(row.kind, "textContent", ` ${record.type || "?"}${who}`);
  if (row.badge.dataset.status !== record.status) row.badge.dataset.status = record.status;
  set(row.badge, "textContent", record.status);
  set(row.error, "textContent", record.error || "");
  set(row.error, "hidden", !record.error);
  const allowed = record["allowed-verbs"] || [];
  for (const button of row.buttons) set(button, "disabled", !allowed.includes(button.dataset.verb));
  if (!made && !visible.has(record.id)) { deferred.add(record.id); return; }
  row.badge.title = timeInStatus(record);
  set(row.progress, "max", Math.max(1, record["total-progress"] || 0));
  set(row.progress, "value", record["current-progress"] || 0);
  set(row.amount, "textContent", ` ${bytes(record["current-progress"])} of ${bytes(record["total-progress"])}`);
  // A job that does not copy now (paused, waiting, ...) sends no progress: its last rate would be stale.
  const copying = record.status === "running" || record.status === "ready";
  const rate = copying ? `${bytes((record.stats || {})["recent-rate"])}/s` : "–";
  set(row.rate, "textContent", `${rate}, ETA ${eta(record)} `);
  drawChart(row.chart, record.id);
}

function makeRow(id) {
  const element = document.createElement("tr");
  element.dataset.jobId = id;
  const name = document.createElement("button");
  name.type = "button";
  name.className = "link";
  name.textContent = id;
  name.addEventListener("click", () => { $("#detail").textContent = JSON.stringify(state.jobs.get(id), null, 2); });
  const kind = document.createTextNode("");
  cell(element, name, kind);
  const badge = document.createElement("span");
  badge.className = "badge";
  const error = document.createElement("div");
  error.className = "error";
  cell(element, badge, error);
  const progress = document.createElement("progress");
  progress.setAttribute("aria-label", `progress of ${id}`);
  const amount = document.createTextNode("");
  cell(element, progress, amount);
  const rate = document.createTextNode("");
  const chart = makeChart();
  cell(element, rate, chart);
  const speed = document.createElement("input");
  speed.type = "number";
  speed.min = "0";
  speed.placeholder = "bytes/s";
  speed.setAttribute("aria-label", `speed for ${id}`);
  const buttons = [
    verbButton(id, "pause", "Pause"), verbButton(id, "resume", "Resume"),
    verbButton(id, "complete", "Complete"), verbButton(id, "finalize", "Finalize"),
    verbButton(id, "cancel", "Cancel", true), verbButton(id, "cancel", "Soft cancel", false),
    verbButton(id, "dismiss", "Dismiss")];
  const setSpeed = verbButton(id, "set-speed", "Set speed");
  cell(element, ...buttons, speed, setSpeed);
  return { element, kind, badge, error, progress, amount, rate, chart, buttons: [...buttons, setSpeed] };
}

function renderAll() {
  for (const id of rows.keys()) {
    if (!state.jobs.has(id)) drawRow({ id, status: "null" });
  }
  for (const record of state.jobs.values()) render(record);
}

/** The engines (`GET /engines`): each one's state and QEMU version, and the event streams open. */
async function refreshEngine() {
  try {
    const [engines, health] = await Promise.all([api("GET", "/engines"), api("GET", "/healthz")]);
    const streams = health["event-streams"];
    const described = engines.engines.map((engine) => {
      const version = engine.qemu ? `QEMU ${engine.qemu.version}` : "QEMU not yet seen";
      const why = engine.state === "ready" || !engine.problem ? "" : ` (${engine.problem})`;
      return `${engine.name}: ${version}, ${engine.state}${why}`;
    });
    $("#engine").textContent = `Engine ${described.join("; ")}; ${streams} event stream${streams === 1 ? "" : "s"} open`;
    $("#engine").dataset.states = engines.engines.map((engine) => `${engine.name}=${engine.state}`).join(",");
  } catch (error) {
    $("#engine").textContent = `Engine: unknown (${error.message})`;
  }
}

async function start() {
  loadNodes();
  const cursor = await list();
  await watch(cursor);
}

/** One page of finished jobs (`GET /jobs` with the filters), newest kept in the order jobgate lists them. */
let historyCursor = null;

async function loadHistory(more) {
  const params = new URLSearchParams({ limit: "20" });
  if ($("#history-status").value) params.set("status", $("#history-status").value);
  if ($("#history-type").value) params.set("type", $("#history-type").value);
  if (more && historyCursor) params.set("cursor", historyCursor);
  try {
    const page = await api("GET", `/jobs?${params}`);
    const body = $("#history tbody");
    if (!more) body.replaceChildren();
    for (const record of page.jobs) {
      const row = document.createElement("tr");
      row.dataset.historyId = record.id;
      const stats = record.stats || {};
      const runs = document.createElement("button");
      runs.type = "button";
      runs.textContent = `run ${record.run}`;
      runs.addEventListener("click", async () => {
        const history = await api("GET", `/jobs/${encodeURIComponent(record.id)}/history`);
        $("#detail").textContent = JSON.stringify(history, null, 2);
      });
      for (const text of [record.id, record.type || "?", stats.outcome || "–", record["updated-at"],
        `${(stats["duration-seconds"] || 0).toFixed(1)} s`]) {
        cell(row, text);
      }
      cell(row, runs);
      body.append(row);
    }
    historyCursor = page["next-cursor"];
    $("#history-more").disabled = !historyCursor;
  } catch (error) {
    say(`history: ${error.message}`, true);
  }
}

$("#history-filter").addEventListener("submit", (event) => { event.preventDefault(); loadHistory(false); });
$("#history-more").addEventListener("click", () => loadHistory(true));

$("#auth").addEventListener("submit", (event) => {
  event.preventDefault();
  state.token = $("#token").value.trim();
  sessionStorage.setItem("jobgate-token", state.token);
  $("#auth").hidden = true;
  start().catch(retryLater);
});

/** The node lists of the backup/mirror form, from `GET /nodes`; the choices made are kept if still there. */
async function loadNodes() {
  try {
    const names = (await api("GET", "/nodes")).nodes.map((node) => node["node-name"]).filter(Boolean).sort();
    for (const select of [$("#copy-device"), $("#copy-target")]) {
      const chosen = select.value;
      select.replaceChildren(...names.map((name) => new Option(name, name)));
      if (names.includes(chosen)) select.value = chosen;
    }
  } catch (error) {
    if (error.status !== 401) say(`nodes: ${error.message}`, true);
  }
}

$("#copy-nodes").addEventListener("click", loadNodes);
$("#copy").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {
    type: $("#copy-type").value, id: $("#copy-id").value.trim(), device: $("#copy-device").value,
    target: $("#copy-target").value, sync: $("#copy-sync").value,
    "auto-finalize": $("#copy-auto-finalize").checked, "auto-dismiss": $("#copy-auto-dismiss").checked,
  };
  const speed = Number($("#copy-speed").value || 0);
  if (speed > 0) body.speed = speed;
  try {
    const record = await api("POST", "/jobs", body);
    say(`created ${record.id}`);
  } catch (error) {
    say(`create refused: ${error.message}`, true);
  }
});

$("#create").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const record = await api("POST", "/jobs", JSON.parse($("#create-body").value));
    say(`created ${record.id}`);
  } catch (error) {
    say(`create refused: ${error.message}`, true);
  }
});

refreshEngine();
setInterval(refreshEngine, 10000);
start().catch((error) => { if (error.status !== 401) retryLater(error); else say("Enter a token to see the jobs."); });
