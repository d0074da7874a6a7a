// The labeling page: shows the oldest pending pair, sends the answer, keeps the status strip fresh.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const withToken = (url) => token ? url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token) : url;
const $ = (id) => document.getElementById(id);
const videos = [$("v0"), $("v1")];
let pending = [];      // pairs not answered yet, oldest first
let current = null;    // the pair on screen
let doneInView = 0;    // answered on this page since the queue was last empty
let busy = false;
const answeredHere = new Set();  // ids this page answered (a poll may still list them)

async function api(path, options) {
  const res = await fetch(withToken(path), options);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function setButtons(enabled) {
  for (const id of ["left", "right", "equal", "skip"]) $(id).disabled = !enabled;
}

// Both clips from their first frame, together, looping.
function playTogether() {
  const rate = Number($("speed").value);
  let ready = 0;
  for (const v of videos) {
    v.playbackRate = rate;
    v.oncanplay = () => {
      v.oncanplay = null;
      if (++ready === 2) for (const w of videos) { w.currentTime = 0; w.play().catch(() => {}); }
    };
  }
}

function show() {
  if (!pending.length) {
    current = null;
    doneInView = 0;
    $("pair").hidden = true;
    $("queue").textContent = "waiting for pairs…";
    setButtons(false);
    return;
  }
  if (current && current.id === pending[0].id) return;
  current = pending[0];
  $("queue").textContent = `pair ${doneInView + 1} of ${doneInView + pending.length}`;
  $("pair").hidden = false;
  videos[0].src = withToken(current.clip0);
  videos[1].src = withToken(current.clip1);
  playTogether();
  setButtons(true);
}

async function answer(label) {
  if (!current || busy) return;
  busy = true;
  setButtons(false);
  try {
    await api("/api/label", {method: "POST", headers: {"Content-Type": "application/json"},
                             body: JSON.stringify({id: current.id, label})});
    $("message").textContent = "";
    answeredHere.add(current.id);
    pending = pending.filter((p) => p.id !== current.id);
    doneInView += 1;
    refreshStatus();
    current = null;
  } catch (e) {
    $("message").textContent = "not saved: " + e.message;
  }
  busy = false;
  show();
}

async function refreshPairs() {
  try {
    const body = await api("/api/pairs");
    const known = new Set(pending.map((p) => p.id));
    pending = pending.filter((p) => body.pending.some((q) => q.id === p.id));
    for (const p of body.pending) if (!known.has(p.id) && !answeredHere.has(p.id)) pending.push(p);
    show();
  } catch (e) {
    $("message").textContent = "cannot reach the run: " + e.message;
  }
}

function drawChart(returns, model) {
  const c = $("chart"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const all = returns.concat(model);
  if (all.length < 2) return;
  const lo = Math.min(...all), hi = Math.max(...all), span = hi - lo || 1;
  const line = (values, color) => {
    if (values.length < 2) return;
    g.strokeStyle = color;
    g.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * (c.width - 2) + 1;
      const y = c.height - 2 - ((v - lo) / span) * (c.height - 4);
      i ? g.lineTo(x, y) : g.moveTo(x, y);
    });
    g.stroke();
  };
  line(returns, "#4da3ff");
  line(model, "#ffa040");
}

const fmt = (x, d) => (x === undefined || x === null ? "–" : Number(x).toFixed(d));

async function refreshStatus() {
  try {
    const s = await api("/api/status");
    $("state").textContent = s.state;
    $("state").className = s.state;
    $("step").textContent = s.total_steps ? `${s.step} / ${s.total_steps}` : s.step;
    $("sps").textContent = fmt(s.sps, 0);
    $("ret").textContent = fmt(s.returns[s.returns.length - 1], 1);
    $("mret").textContent = fmt(s.model_returns[s.model_returns.length - 1], 1);
    $("budget").textContent = `${s.queries_asked} / ${s.max_feedback} asked, ${s.answered} answered`;
    drawChart(s.returns, s.model_returns);
  } catch (e) {
    $("state").textContent = "unreachable";
  }
}

$("left").onclick = () => answer("left");
$("right").onclick = () => answer("right");
$("equal").onclick = () => answer("equal");
$("skip").onclick = () => answer("skip");
$("speed").onchange = () => { for (const v of videos) v.playbackRate = Number($("speed").value); };
document.addEventListener("keydown", (e) => {
  const label = {ArrowLeft: "left", ArrowRight: "right", ArrowUp: "equal", ArrowDown: "skip"}[e.key];
  if (!label) return;
  e.preventDefault();
  answer(label);
});
refreshPairs();
refreshStatus();
setInterval(refreshPairs, 1000);
setInterval(refreshStatus, 2000);
