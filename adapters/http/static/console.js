// The operator console: live calls of this instance and a live view of one call's events, and
// the recorded calls of the durable call history with their summary, recordings and transcript.
// Every fetch carries the operator key as a bearer header (see adapters/http/operator_auth.py).
import { bearer, keyForm } from "./keys.js";

const $ = (id) => document.getElementById(id);
const state = (window.parleyConsole = {
  calls: [],
  selected: null,
  events: [],
  authorized: false,
  records: [],
  record: null,
  recordedView: null,
});
let after = -1;

async function api(path) {
  const response = await fetch(path, { headers: bearer("operatorKey"), cache: "no-store" });
  if (response.status === 401 || response.status === 503) {
    const body = await response.json();
    state.authorized = false;
    $("auth-note").textContent =
      response.status === 503 ? `${body.detail}` : "Enter the operator key (PARLEY_OPERATOR_KEY).";
    return null;
  }
  if (!response.ok) return null;
  state.authorized = true;
  $("auth-note").textContent = "";
  return response.json();
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.append(td);
  return td;
}

function renderCalls(body) {
  state.calls = body.calls;
  state.recordedView = body.recorded_view;
  const tbody = $("calls");
  tbody.replaceChildren();
  $("empty").hidden = body.calls.length > 0;
  for (const call of body.calls) {
    const row = document.createElement("tr");
    row.className = `call ${call.call_id === state.selected ? "selected" : ""}`;
    row.dataset.callId = call.call_id;
    cell(row, call.call_id.slice(0, 12));
    cell(row, call.channel);
    cell(row, call.caller || "-");
    cell(row, call.agent || "-");
    cell(row, `${call.duration_s.toFixed(0)} s`);
    cell(row, String(call.turns));
    cell(row, call.last_latency_ms === null ? "-" : `${call.last_latency_ms} ms`);
    const status = cell(row, call.live ? "live" : `ended (${call.end_reason})`);
    if (!call.live && body.recorded_view) {
      const link = document.createElement("a");
      link.className = "recording";
      link.href = body.recorded_view.replace("{call_id}", encodeURIComponent(call.call_id));
      link.textContent = " recording";
      link.addEventListener("click", (event) => openRecording(event, link.href));
      status.append(link);
    }
    row.addEventListener("click", () => select(call.call_id));
    tbody.append(row);
  }
}

// The recorded-call page needs the operator key too: fetch it with the bearer header and
// show it from a blob (a plain link cannot carry the header).
async function openRecording(event, href) {
  event.preventDefault();
  event.stopPropagation();
  const view = window.open("", "_blank");
  const response = await fetch(href, { headers: bearer("operatorKey") });
  if (!response.ok) {
    if (view) view.close();
    $("auth-note").textContent =
      response.status === 404 ? "That call is no longer in the store (it may have expired)." :
      `The call's timeline could not be opened: HTTP ${response.status}.`;
    return;
  }
  const blob = new Blob([await response.text()], { type: "text/html" });
  if (view) view.location = URL.createObjectURL(blob);
}

function select(callId) {
  state.selected = callId;
  state.events = [];
  after = -1;
  $("live").hidden = false;
  $("live-id").textContent = callId;
  $("transcript").replaceChildren();
  $("events").replaceChildren();
}

function renderEvent(event) {
  state.events.push(event);
  const t = `${(event.t_ms / 1000).toFixed(1)} s`;
  if (event.type === "transcript_final" || event.type === "agent_message") {
    const div = document.createElement("div");
    const who = event.type === "transcript_final" ? "caller" : "agent";
    div.className = `line ${who}${event.interrupted ? " interrupted" : ""}`;
    div.textContent = `${t} ${who === "caller" ? "caller" : event.agent || "agent"}: ${event.text}`;
    $("transcript").append(div);
  } else if (event.type !== "transcript_partial" && event.type !== "agent_text") {
    const li = document.createElement("li");
    li.textContent = `${t} ${event.type} ${event.text || ""}`;
    $("events").append(li);
  }
}

async function poll() {
  const body = await api("/api/live-calls");
  if (body) renderCalls(body);
  if (body && state.selected) {
    const view = await api(`/api/live-calls/${encodeURIComponent(state.selected)}/events?after=${after}`);
    if (view) {
      for (const event of view.events) {
        renderEvent(event);
        after = event.seq;
      }
    }
  }
}

// Recorded calls: the durable call history (GET /api/calls), refreshed every few seconds.
let recordsAt = 0;
async function pollRecords() {
  if (Date.now() - recordsAt < 3000) return;
  recordsAt = Date.now();
  const body = await api("/api/calls?limit=20");
  if (!body) return;
  state.records = body.calls;
  const tbody = $("records");
  tbody.replaceChildren();
  $("no-records").hidden = body.calls.length > 0;
  for (const call of body.calls) {
    const row = document.createElement("tr");
    row.className = "call record";
    row.dataset.callId = call.call_id;
    cell(row, new Date(call.started_at_ms).toLocaleString());
    cell(row, call.call_id.slice(0, 12));
    cell(row, call.caller || "-");
    cell(row, call.agents.join(", "));
    cell(row, call.outcome);
    cell(row, `${(call.duration_ms / 1000).toFixed(0)} s`);
    cell(row, String(call.user_turns));
    row.addEventListener("click", () => showRecord(call.call_id));
    tbody.append(row);
  }
}

async function showRecord(callId) {
  const record = await api(`/api/calls/${encodeURIComponent(callId)}`);
  if (!record) return;
  state.record = record;
  $("record").hidden = false;
  $("record-id").textContent = callId;
  // The call.html timeline of a call still in the store (docs/observability.md).
  const picture = $("record-picture");
  picture.hidden = !state.recordedView;
  if (state.recordedView) {
    picture.href = state.recordedView.replace("{call_id}", encodeURIComponent(callId));
    picture.onclick = (event) => openRecording(event, picture.href);
  }
  const summary = record.summary;
  $("record-summary").textContent = summary
    ? `${summary.disposition}: ${summary.text} ${JSON.stringify(summary.fields)}`
    : "(no summary yet)";
  const recordings = $("record-recordings");
  recordings.replaceChildren();
  for (const rec of record.recordings) {
    const li = document.createElement("li");
    li.textContent = `${rec.kind} recording (${rec.state}) ${rec.location || rec.recording_id}`;
    recordings.append(li);
  }
  const lines = $("record-lines");
  lines.replaceChildren();
  for (const line of record.lines) {
    if (line.kind !== "user" && line.kind !== "assistant" && line.kind !== "tool_call") continue;
    const div = document.createElement("div");
    const who = line.kind === "user" ? "caller" : "agent";
    div.className = `line ${who}${line.interrupted ? " interrupted" : ""}`;
    const text = line.kind === "tool_call" ? `-> ${line.text}` : line.text;
    div.textContent = `${(line.offset_ms / 1000).toFixed(1)} s ${line.agent || who}: ${text}`;
    lines.append(div);
  }
}

function loop() {
  poll()
    .then(() => (state.authorized ? pollRecords() : null))
    .finally(() => setTimeout(loop, 700));
}

keyForm($("key-form"), "operatorKey", () => poll());
loop();
