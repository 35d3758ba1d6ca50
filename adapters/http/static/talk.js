// The talk page: one browser call over WS /ws/browser (docs/browser-protocol.md).
// window.parley holds the call's observable state (tests read it; nothing else depends on it).
import { AudioIO } from "./audio-io.js";
import { bearer, keyForm } from "./keys.js";

const RATE = 16000;
const $ = (id) => document.getElementById(id);

const state = (window.parley = {
  status: "idle",
  callId: null,
  endReason: null,
  closeCode: null,
  samplesPlayed: 0,
  samplesPlayedAtFinal: null,
  audioBytes: 0,
  stopLatenciesMs: [],
  stopRoundTripMs: [],
  events: [],
});

let ws = null;
let audio = null;
let config = null;
let muted = new URLSearchParams(location.search).has("muted");
let callerLine = null;
let agentLine = null;
let finalAt = null;
let pendingStops = new Map();
let stopSeq = 0;
let turn = 0;
let turnItem = null;
let replyStarted = false;
let speaking = false; // an agent message is under way
let stale = false; // ...and it began before the caller's last turn (a resumed greeting)

function turnLatency(part) {
  if (!turnItem) return;
  turnItem.dataset[part.key] = part.ms;
  const server = turnItem.dataset.serverMs;
  const audio = turnItem.dataset.audioMs;
  turnItem.textContent =
    `turn ${turnItem.dataset.turn}: first words ${server ?? "?"} ms (server), ` +
    `first audio ${audio ?? "?"} ms (here)`;
}

function setStatus(text) {
  state.status = text;
  $("status").textContent = text;
}

function logEvent(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  $("events").prepend(li);
}

function line(who, cls) {
  const div = document.createElement("div");
  div.className = `line ${who} ${cls || ""}`.trim();
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = who === "caller" ? "you" : state.agent || "agent";
  const text = document.createElement("span");
  text.className = "text";
  div.append(label, text);
  $("transcript").append(div);
  $("transcript").scrollTop = $("transcript").scrollHeight;
  return div;
}

function setText(div, text) {
  div.querySelector(".text").textContent = text;
}

function setAgent(name) {
  if (!name) return;
  state.agent = name;
  $("agent").textContent = name;
}

async function fetchToken() {
  if (!config.token_required) return null;
  const response = await fetch(config.token_path, {
    method: "POST",
    headers: bearer("browserKey"),
  });
  if (response.status === 401) {
    $("key-form").hidden = false;
    throw new Error("a browser key is needed (enter it above)");
  }
  if (!response.ok) throw new Error(`token request failed: HTTP ${response.status}`);
  return (await response.json()).token;
}

function onPlayer(message) {
  if (message.type === "stats") {
    state.samplesPlayed = message.played;
    state.buffered = message.buffered;
  } else if (message.type === "cleared") {
    const started = pendingStops.get(message.id);
    pendingStops.delete(message.id);
    if (started !== undefined) {
      // Message to worklet and back, plus what the output device adds after it.
      const roundTrip = performance.now() - started;
      const ms = roundTrip + audio.outputLatencyMs();
      state.stopRoundTripMs.push(Math.round(roundTrip * 10) / 10);
      state.stopLatenciesMs.push(Math.round(ms * 10) / 10);
      logEvent(`barge-in: playback stopped ${ms.toFixed(1)} ms after stop_audio`);
    }
    state.samplesPlayed = message.played;
  }
}

function onEvent(event) {
  state.events.push(event);
  setAgent(event.agent);
  switch (event.type) {
    case "started":
      state.callId = event.call_id;
      setStatus("in call");
      break;
    case "transcript":
      if (!callerLine) callerLine = line("caller", "partial");
      setText(callerLine, event.text);
      if (event.final) {
        callerLine.classList.remove("partial");
        callerLine.classList.add("final");
        callerLine = null;
        finalAt = performance.now();
        stale = speaking;
        state.samplesPlayedAtFinal = state.samplesPlayed;
        turn += 1;
        turnItem = document.createElement("li");
        turnItem.dataset.turn = turn;
        turnItem.textContent = `turn ${turn}: waiting for the agent`;
        $("latency").append(turnItem);
      }
      break;
    case "agent_text":
      if (!agentLine) agentLine = line("agent");
      setText(agentLine, `${agentLine.querySelector(".text").textContent} ${event.text}`.trim());
      // latency_ms: the server's end of turn (final transcript) to the agent's first clause.
      if (event.latency_ms !== undefined) turnLatency({ key: "serverMs", ms: event.latency_ms });
      if (!stale && finalAt !== null) replyStarted = true;
      speaking = true;
      break;
    case "agent_message":
      if (!agentLine) agentLine = line("agent");
      setText(agentLine, event.text);
      if (event.interrupted) agentLine.classList.add("interrupted");
      agentLine = null;
      speaking = stale = false;
      break;
    case "stop_audio": {
      const id = ++stopSeq;
      pendingStops.set(id, performance.now());
      audio.clear(id);
      break;
    }
    case "handoff":
      logEvent(`handoff ${event.from || "?"} -> ${event.to || event.agent}`);
      break;
    case "tool_call":
      logEvent(`tool ${event.name}(${JSON.stringify(event.arguments || {})})`);
      break;
    case "transfer":
      logEvent(`transfer to ${event.target || "?"}`);
      break;
    case "call_ended":
      state.endReason = event.reason;
      logEvent(`call ended: ${event.reason}`);
      break;
    case "error":
      logEvent(`server: ${event.code}: ${event.message}`, "error");
      break;
    default:
      break;
  }
}

function onAudio(data) {
  state.audioBytes += data.byteLength;
  if (finalAt !== null && replyStarted) {
    // The page's view: final transcript received to the reply's first audio received.
    replyStarted = false;
    turnLatency({ key: "audioMs", ms: Math.round(performance.now() - finalAt) });
    finalAt = null;
  }
  audio.play(data);
}

async function startCall() {
  $("start").disabled = true;
  setStatus("connecting");
  try {
    const token = await fetchToken();
    audio = new AudioIO(RATE, (frame) => ws && ws.readyState === 1 && ws.send(frame), onPlayer);
    await audio.start(muted);
    ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${config.ws_path}`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      const start = { type: "start", sample_rate_hz: RATE, encoding: "pcm16", caller: "browser" };
      if (token) start.token = token;
      const chosen = $("start-agent").value;
      if (chosen && chosen !== config.agents[0]) start.agent = chosen; // [0]: the default
      ws.send(JSON.stringify(start));
    };
    ws.onmessage = (message) =>
      typeof message.data === "string" ? onEvent(JSON.parse(message.data)) : onAudio(message.data);
    ws.onclose = (close) => {
      state.closeCode = close.code;
      setStatus(`ended (${state.endReason || close.reason || close.code})`);
      $("hangup").disabled = true;
      $("start").disabled = false;
      ws = null;
      if (audio) audio.closeMicrophone();
    };
    $("hangup").disabled = false;
  } catch (error) {
    setStatus(`could not start: ${error.message}`);
    $("start").disabled = false;
  }
}

function hangUp() {
  if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "hangup" }));
  setStatus("hanging up");
}

async function toggleMute() {
  muted = !muted;
  $("mute").setAttribute("aria-pressed", String(muted));
  $("mute").textContent = muted ? "Unmute" : "Mute";
  if (audio && audio.context) await audio.setMuted(muted);
}

function keypad() {
  for (const digit of "123456789*0#") {
    const button = document.createElement("button");
    button.textContent = digit;
    button.addEventListener("click", () => {
      if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: "dtmf", digit }));
      logEvent(`you pressed ${digit}`);
    });
    $("keypad").append(button);
  }
}

async function init() {
  keypad();
  $("mute").setAttribute("aria-pressed", String(muted));
  $("mute").textContent = muted ? "Unmute" : "Mute";
  $("start").addEventListener("click", startCall);
  $("hangup").addEventListener("click", hangUp);
  $("mute").addEventListener("click", toggleMute);
  keyForm($("key-form"), "browserKey", () => ($("key-form").hidden = true));
  config = await (await fetch("/api/browser/config")).json();
  $("agents").textContent = config.agents.join(", ") || "-";
  if (config.agents.length) setAgent(config.agents[0]);
  for (const name of config.agents) $("start-agent").append(new Option(name, name));
  $("agent-choice").hidden = config.agents.length < 2;
  $("start-agent").addEventListener("change", () => setAgent($("start-agent").value));
  state.ready = true;
}

init();
