// exo-actors observer: follows /api/events (server-sent events, one
// snapshot each) and draws the supervision tree, the runners, the alerts
// and the log of actions. No framework, no build step: text goes into the
// page through textContent only.
"use strict";

const $ = (sel) => document.querySelector(sel);
let last = null;                 // the last snapshot
const restartsSeen = new Map();  // runner id -> restarts, to flash a restart
let selected = "";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function fmtS(s) {
  if (!s) return "—";
  return s < 1 ? Math.round(s * 1000) + " ms" : s.toFixed(s < 10 ? 1 : 0) + " s";
}

function clock(t) {
  const d = new Date(t);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour12: false });
}

function statusClass(s) {
  if (/^(Ready|Running|Loaded)/.test(s)) return "up";
  if (/^(Loading|Connecting|Connected|WarmingUp|Idle|ShuttingDown)/.test(s)) return "busy";
  if (/^Failed/.test(s)) return "down";
  return "gone";
}

function scoreCell(level, score, health) {
  if (level === "unknown") return el("span", { class: "score" }, el("span", { class: "dot" }), health || "unchecked");
  const bar = el("span", { class: "bar" }, el("i", { class: level, style: "" }));
  bar.firstChild.style.width = Math.round(Math.max(0, Math.min(1, score)) * 100) + "%";
  return el("span", { class: "score" }, el("span", { class: "dot " + level }), score.toFixed(2), bar, el("small", {}, level));
}

function drawSummary(snap) {
  const box = $("#summary");
  box.replaceChildren();
  const st = snap.status;
  if (!st) {
    box.append(el("span", {}, "node: ", el("b", {}, snap.error || "no answer")));
    return;
  }
  const n = st.node;
  // The cluster demo's page: one document over every node, its tree's
  // root the cluster ("2 of 3 nodes serving").
  const cluster = st.tree && st.tree.kind === "cluster";
  box.append(
    cluster ? el("span", {}, "cluster ", el("b", {}, st.tree.state))
      : el("span", {}, "node ", el("b", {}, n.state.replace("_", " "))),
    el("span", {}, el("span", { class: "dot " + n.level }), "score ", el("b", {}, n.score.toFixed(2)), " " + n.level),
    el("span", {}, "ready ", el("b", {}, n.ready + "/" + n.runners)),
    el("span", {}, "alerts ", el("b", {}, String(st.alerts.length))),
    el("span", {}, "checks ", el("b", {}, String(n.checks))),
    el("span", { class: "mono" }, "at " + clock(st.at)),
  );
}

function drawTree(node, into) {
  const li = el("li", { class: node.kind },
    el("span", { class: "kind" }, node.kind),
    el("span", { class: "name" }, ...breakable(node.name)),
    node.score !== undefined && node.score !== null ? el("span", { class: "state" }, "· " + node.score.toFixed(2)) : null,
    el("span", { class: "state" }, node.state));
  if (node.kind === "runner") {
    const id = node.name.replace(/^runner-/, "");
    li.setAttribute("data-runner", id);
    li.querySelector(".name").onclick = () => { selected = selected === id ? "" : id; if (last) draw(last); };
  }
  if (node.children && node.children.length) {
    const ul = el("ul");
    for (const c of node.children) drawTree(c, ul);
    li.append(ul);
  }
  into.append(li);
}

function lastError(r) {
  // Frames that broke the runner protocol are logged and ignored, so a
  // runner can pass every task with them: said here, as /status counts them.
  const perr = r.protocol_errors > 0
    ? el("small", { class: "perr", title: "frames of this runner that broke the runner protocol (the node's log names each; docs/protocol.md)" },
      r.protocol_errors + " protocol error" + (r.protocol_errors === 1 ? "" : "s"))
    : "";
  if (!r.errors || !r.errors.length) return perr ? el("span", {}, perr) : el("span", { class: "empty" }, "—");
  const e = r.errors[r.errors.length - 1];
  const td = el("span", {},
    el("span", { class: "sev " + e.severity }, e.severity),
    e.kind + " → " + e.action.toLowerCase() + ", " + e.resolution,
    el("span", { class: "msg", title: e.message }, e.message), perr);
  return td;
}

// Rows are kept per runner and updated in place, so a button under the
// mouse is never replaced between two snapshots.
const rows = new Map(); // runner id -> {tr, cells, buttons, gen}
const restartedAt = new Map(); // runner id -> time of the last restart seen

function makeRow(snap, id) {
  const row = { tr: el("tr", { "data-runner": id }), cells: {}, buttons: [], gen: 0 };
  for (const c of ["id", "gen", "status-cell", "health", "restarts", "backoff", "tasks", "lasterr", "actions"]) {
    row.cells[c] = el("td", { class: c });
    row.tr.append(row.cells[c]);
  }
  for (const f of snap.faults) {
    const b = el("button", { class: "danger", "data-action": f.name, "data-runner": id }, f.label);
    b.dataset.help = f.help;
    b.onclick = () => act(id, "fault", { kind: f.name, generation: row.gen });
    row.buttons.push(b);
  }
  const s = el("button", { "data-action": "stop", "data-runner": id }, "stop");
  s.dataset.help = "stop the runner: Shutdown frame, SIGTERM, SIGKILL";
  s.onclick = () => act(id, "stop", { generation: row.gen });
  row.buttons.push(s);
  row.cells.actions.append(...row.buttons);
  return row;
}

// breakable returns a tree name as text with a line-break opportunity
// after each "/" and before an "@" ("llama-ac60f936651c/g1/pipes"), so a
// long name wraps between its parts in the tree's narrow pane rather than
// inside one.
function breakable(name) {
  // A loop, not a split on a lookbehind, which Safari before 16.4 cannot
  // parse (and then runs none of this file).
  const out = [];
  let part = "";
  for (const ch of name) {
    if (ch === "@" && part) { out.push(part, el("wbr", {})); part = ""; }
    part += ch;
    if (ch === "/") { out.push(part, el("wbr", {})); part = ""; }
  }
  if (part) out.push(part);
  return out;
}

// idParts splits a runner ID ("llama-3b-c290c63747a7@node-1") so the cell
// may wrap after each "-" of its kind and before its "@node", and nowhere
// else (not inside the 12 hex digits): a 12-hex ID with its node, or a
// kind of 40 characters, pushed the table past the page at 1480 px.
function idParts(id) {
  const at = id.lastIndexOf("@");
  const runner = at > 0 ? id.slice(0, at) : id;
  const out = [];
  const pieces = runner.split("-");
  pieces.forEach((p, i) => {
    const last = i === pieces.length - 1;
    // The <wbr> is the break: nowrap spans side by side have none.
    out.push(el("span", { class: "nowrap" }, last ? p : p + "-"));
    if (!last) out.push(el("wbr", {}));
  });
  if (at > 0) out.push(el("wbr", {}), el("span", { class: "nowrap node" }, id.slice(at)));
  return out;
}

function fillRow(row, snap, r) {
  const c = row.cells;
  row.gen = r.generation;
  row.tr.dataset.generation = String(r.generation);
  row.tr.dataset.status = r.status;
  row.tr.dataset.level = r.level;
  row.tr.classList.toggle("selected", r.id === selected);
  const seen = restartsSeen.get(r.id);
  if (seen !== undefined && r.restarts > seen) restartedAt.set(r.id, Date.now());
  restartsSeen.set(r.id, r.restarts);
  row.tr.classList.toggle("recent-restart", Date.now() - (restartedAt.get(r.id) || 0) < 6000);
  let backoff = fmtS(r.next_backoff_s);
  if (r.restarting) backoff = "restart in " + fmtS(r.restart_in_s);
  c.id.replaceChildren(...idParts(r.id), el("small", {}, r.kind));
  c.gen.replaceChildren("gen " + r.generation, el("small", {}, r.pid ? "pid " + r.pid : "no process"));
  c["status-cell"].replaceChildren(el("span", { class: "status " + statusClass(r.status), title: r.status }, r.status), el("small", {}, r.health_state));
  c.health.replaceChildren(scoreCell(r.level, r.score, r.health_state), r.reason ? el("small", {}, r.reason) : "");
  c.restarts.textContent = String(r.restarts);
  c.restarts.classList.toggle("some", r.restarts > 0);
  c.backoff.textContent = backoff;
  c.tasks.replaceChildren(r.tasks.completed + " done", el("small", {}, r.tasks.pending + " pending · " + r.tasks.ended + " ended"));
  c.lasterr.replaceChildren(lastError(r));
  const off = !snap.actions;
  const gone = r.health_state === "gone" || r.health_state === "stopped" || /^Shutdown/.test(r.status);
  for (const b of row.buttons) {
    const signal = b.dataset.action === "crash" || b.dataset.action === "hang";
    b.disabled = off || gone || (signal && (!r.pid || r.restarting));
    b.title = off ? "actions are off (start with --ui-actions)" : b.dataset.help;
  }
}

function drawRunners(snap) {
  const body = $("#runners tbody");
  const runners = snap.status ? snap.status.runners : [];
  $("#no-runners").hidden = runners.length > 0;
  const present = new Set();
  runners.forEach((r, i) => {
    let row = rows.get(r.id);
    if (!row) { row = makeRow(snap, r.id); rows.set(r.id, row); }
    fillRow(row, snap, r);
    present.add(r.id);
    if (body.children[i] !== row.tr) body.insertBefore(row.tr, body.children[i] || null);
  });
  for (const [id, row] of rows) {
    if (!present.has(id)) { row.tr.remove(); rows.delete(id); }
  }
}

function drawAlerts(snap) {
  const ul = $("#alerts");
  const alerts = snap.status ? snap.status.alerts : [];
  ul.replaceChildren();
  if (!alerts.length) { ul.append(el("li", { class: "none" }, "no active alerts")); return; }
  for (const a of alerts) {
    ul.append(el("li", {},
      el("span", { class: "sev " + a.severity }, a.severity),
      el("b", {}, a.runner_id), " " + a.condition + ": " + a.reason,
      a.repeats > 1 ? " (×" + a.repeats + ")" : "",
      " ", el("time", {}, "since " + clock(a.since))));
  }
}

function drawLog(snap) {
  const ul = $("#log");
  ul.replaceChildren();
  if (!snap.log.length) { ul.append(el("li", { class: "none" }, snap.actions ? "nothing yet" : "actions are off")); return; }
  for (const e of snap.log.slice().reverse()) {
    ul.append(el("li", {},
      el("span", { class: "sev " + (e.ok ? "ok" : "fail") }, e.ok ? "OK" : "REFUSED"),
      el("b", {}, e.runner_id), " " + e.action + " (gen " + e.generation + "): " + e.result + " ",
      el("time", {}, clock(e.time))));
  }
}

function draw(snap) {
  last = snap;
  drawSummary(snap);
  const banner = $("#banner");
  banner.hidden = snap.actions && !snap.error;
  banner.textContent = snap.error ? "the node does not answer: " + snap.error
    : "Read-only: the fault and stop buttons are off (start with --ui-actions to enable them).";
  const tree = $("#tree");
  tree.replaceChildren();
  if (snap.status) drawTree(snap.status.tree, tree);
  drawRunners(snap);
  drawAlerts(snap);
  drawLog(snap);
}

function flash(text, error) {
  const f = $("#flash");
  f.hidden = false;
  f.textContent = text;
  f.className = "flash" + (error ? " error" : "");
}

async function act(id, what, body) {
  try {
    const resp = await fetch("/api/runners/" + encodeURIComponent(id) + "/" + what, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const out = await resp.json();
    flash(id + " " + what + (body.kind ? " " + body.kind : "") + ": " + (out.ok ? out.result : out.error), !out.ok);
  } catch (err) {
    flash(id + " " + what + ": " + err, true);
  }
}

function connect() {
  const conn = $("#conn");
  const es = new EventSource("/api/events");
  es.addEventListener("snapshot", (ev) => {
    conn.dataset.state = "live";
    conn.textContent = "live";
    draw(JSON.parse(ev.data));
  });
  es.onerror = () => {
    conn.dataset.state = "lost";
    conn.textContent = "reconnecting…";
  };
}

connect();
