// The operator dashboard's page script. Plain browser JavaScript served as is (no build step).
// The admin key lives in sessionStorage (this tab only) and travels in the socket's first
// message and in X-Admin-Key headers, never in a URL.

const KEY_STORAGE = 'waiting-room-admin-key';
const SOCKET_PATH = '/ws/admin/dashboard';
const HISTORY_MS = 30 * 60 * 1000;
const FINAL_CLOSES = new Set([4401, 4400]);

const $ = (id) => document.getElementById(id);
const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const fmt = (n) => (n === null || n === undefined ? '–' : numberFormat.format(n));
// Glyphs every system font has (⏸ is missing from many), next to the words.
const STATUS_TEXT = { active: '▶ Active', paused: '‖ Paused', maintenance: '⚠ Maintenance' };

const state = {
  key: sessionStorage.getItem(KEY_STORAGE) ?? '',
  socket: null,
  signedIn: false,
  retry: 0,
  selected: '',
  queues: new Map(), // queue_id -> latest view
  history: new Map(), // queue_id -> chart points
  lastSnapshotAt: 0,
  node: '',
};

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds >= 24 * 3600) return '> 1 day';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return s === 0 ? `${m} min` : `${m} min ${s} s`;
  return `${s} s`;
}

// --- connection ---------------------------------------------------------------------------

function setConn(stateName, text) {
  const el = $('conn');
  el.dataset.state = stateName;
  el.textContent = text;
}

function connect() {
  if (!state.key) return showLogin('');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${SOCKET_PATH}`;
  const ws = new WebSocket(url);
  state.socket = ws;
  setConn('offline', 'Connecting…');
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'auth', data: { key: state.key } })));
  ws.addEventListener('message', (e) => {
    let message;
    try {
      message = JSON.parse(e.data);
    } catch {
      return;
    }
    onMessage(message);
  });
  ws.addEventListener('close', (e) => {
    if (state.socket !== ws) return;
    state.socket = null;
    if (FINAL_CLOSES.has(e.code)) return; // the error message already said why
    if (!state.signedIn) return showLogin('Could not reach the server. Try again.');
    state.retry++;
    const delay = Math.min(10_000, 500 * 2 ** Math.min(state.retry, 5)) * (0.5 + Math.random() / 2);
    setConn('stale', `Disconnected, retrying in ${Math.ceil(delay / 1000)} s`);
    setTimeout(connect, delay);
  });
}

function onMessage({ type, data }) {
  switch (type) {
    case 'ready':
      state.retry = 0;
      state.signedIn = true;
      sessionStorage.setItem(KEY_STORAGE, state.key);
      $('login').hidden = true;
      $('board').hidden = false;
      $('signout').hidden = false;
      state.node = data.node;
      setConn('live', `Live · served by ${data.node}`);
      return;
    case 'history': {
      const kept = data.reset ? [] : (state.history.get(data.queue_id) ?? []);
      const points = [...kept, ...data.points];
      const cutoff = (points.at(-1)?.at ?? 0) - HISTORY_MS;
      state.history.set(data.queue_id, points.filter((p) => p.at >= cutoff));
      if (data.queue_id === state.selected) renderCharts();
      return;
    }
    case 'snapshot':
      state.lastSnapshotAt = Date.now();
      state.queues = new Map(data.queues.map((q) => [q.queue_id, q]));
      render();
      return;
    case 'event':
      addActivity(data);
      return;
    case 'error':
      if (data.code === 'UNAUTHORIZED' || data.code === 'FORBIDDEN') {
        sessionStorage.removeItem(KEY_STORAGE);
        state.key = '';
        state.signedIn = false;
        showLogin(data.code === 'FORBIDDEN' ? data.message : 'The admin key was refused.');
      }
      return;
  }
}

function showLogin(message) {
  $('board').hidden = true;
  $('login').hidden = false;
  $('signout').hidden = true;
  $('login-error').textContent = message;
  setConn('offline', 'Not connected');
  $('key').focus();
}

// A page that stops getting snapshots says so instead of showing old numbers as live.
setInterval(() => {
  if (state.signedIn && state.socket && Date.now() - state.lastSnapshotAt > 5_000) setConn('stale', 'No update for over 5 s');
  else if (state.signedIn && state.socket && $('conn').dataset.state === 'stale') setConn('live', `Live · served by ${state.node}`);
}, 1_000);

// --- rendering ----------------------------------------------------------------------------

function stat(name, text) {
  for (const el of document.querySelectorAll(`[data-stat="${name}"]`)) el.textContent = text;
}

function render() {
  const ids = [...state.queues.keys()];
  if (!state.queues.has(state.selected)) state.selected = ids[0] ?? '';
  renderSelect(ids);
  renderTable();
  const q = state.queues.get(state.selected);
  if (!q) return;
  const badge = $('status-badge');
  badge.dataset.status = q.status;
  badge.textContent = STATUS_TEXT[q.status] ?? q.status;
  stat('status', STATUS_TEXT[q.status] ?? q.status);
  stat('waiting', fmt(q.waiting));
  stat('active', fmt(q.active_sessions));
  stat('max-active', fmt(q.max_active_users));
  stat('sockets', fmt(q.connected_sockets));
  stat('socket-nodes', fmt(q.socket_nodes));
  stat('admitted-minute', fmt(q.admitted_last_minute));
  stat('rate', fmt(q.admission_rate_per_minute));
  stat('pace', fmt(q.admission_pace_per_minute));
  stat('joins', fmt(q.joins_per_minute));
  stat('expiries', fmt(q.expiries_per_minute));
  stat('eta', q.eta_seconds_for_new_visitor === null ? `– (${q.status})` : formatDuration(q.eta_seconds_for_new_visitor));
  const meter = $('rate-meter');
  meter.max = q.admission_rate_per_minute;
  meter.value = Math.min(q.admitted_last_minute, q.admission_rate_per_minute);
  for (const b of document.querySelectorAll('[data-set-status]')) b.setAttribute('aria-pressed', String(b.dataset.setStatus === q.status));
  const rateInput = $('rate-input');
  const maxInput = $('max-active-input');
  // Fill the limits from the queue unless the operator is typing in them.
  if (document.activeElement !== rateInput && rateInput.dataset.queue !== `${q.queue_id}:${q.admission_rate_per_minute}`) {
    rateInput.value = q.admission_rate_per_minute;
    rateInput.dataset.queue = `${q.queue_id}:${q.admission_rate_per_minute}`;
  }
  if (document.activeElement !== maxInput && maxInput.dataset.queue !== `${q.queue_id}:${q.max_active_users}`) {
    maxInput.value = q.max_active_users;
    maxInput.dataset.queue = `${q.queue_id}:${q.max_active_users}`;
  }
  renderCharts();
}

function renderSelect(ids) {
  const select = $('queue-select');
  const label = (id) => {
    const name = state.queues.get(id)?.name;
    return name && name !== id ? `${name} (${id})` : id;
  };
  const current = [...select.options].map((o) => o.text).join('\n');
  if (current !== ids.map(label).join('\n')) {
    select.replaceChildren(...ids.map((id) => new Option(label(id), id)));
  }
  select.value = state.selected;
}

function renderTable() {
  const rows = [...state.queues.values()].map((q) => {
    const tr = document.createElement('tr');
    tr.dataset.queue = q.queue_id;
    tr.setAttribute('aria-selected', String(q.queue_id === state.selected));
    const cells = [q.queue_id, STATUS_TEXT[q.status] ?? q.status, fmt(q.waiting), fmt(q.active_sessions), fmt(q.connected_sockets), fmt(q.admitted_last_minute), fmt(q.admission_rate_per_minute)];
    cells.forEach((text, i) => {
      const td = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) td.scope = 'row';
      if (i >= 2) td.className = 'num';
      td.textContent = text;
      tr.append(td);
    });
    tr.addEventListener('click', () => select(q.queue_id));
    return tr;
  });
  $('all-queues').replaceChildren(...rows);
}

function select(queueId) {
  state.selected = queueId;
  render();
}

// --- charts (plain SVG) ---------------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
const W = 640;
const H = 200;
const PAD = { left: 52, right: 10, top: 10, bottom: 24 };

function el(name, attrs, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (value <= 5) return 5;
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil(value / step) * step;
}

/** The chart's time span: the history there is, rounded up to a readable span, at most 30 minutes. */
const SPANS_MIN = [2, 5, 10, 15, 30];
function chartSpanMs(points, now) {
  const oldest = points.length > 0 ? points[0].at : now;
  const minutes = SPANS_MIN.find((m) => now - oldest <= m * 60_000) ?? 30;
  return minutes * 60_000;
}

/** Draws series over the chart's span; paused stretches are hatched (a pattern, not just a colour). */
function drawChart(svg, points, series, now, spanMs, label) {
  const t0 = now - spanMs;
  const x = (t) => PAD.left + ((t - t0) / spanMs) * (W - PAD.left - PAD.right);
  const values = points.flatMap((p) => series.map((s) => s.value(p))).filter((v) => v !== null && v !== undefined);
  const max = niceMax(Math.max(0, ...values));
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const id = `hatch-${svg.id}`;
  const children = [];
  const defs = el('defs', {});
  const pattern = el('pattern', { id, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
  pattern.append(el('rect', { width: 6, height: 6, fill: '#fbf1dd' }), el('line', { x1: 0, y1: 0, x2: 0, y2: 6, stroke: '#c98a1b', 'stroke-width': 2 }));
  defs.append(pattern);
  children.push(defs);
  // Stretches when the queue did not admit.
  for (let i = 0; i < points.length; i++) {
    const p = points[i];
    if (p.status === 'active') continue;
    const next = points[i + 1];
    const from = x(Math.max(p.at, t0));
    const to = x(next ? next.at : now);
    if (to > from) children.push(el('rect', { x: from, y: PAD.top, width: to - from, height: H - PAD.top - PAD.bottom, fill: `url(#${id})` }));
  }
  for (const v of [0, max / 2, max]) {
    children.push(el('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }));
    children.push(el('text', { class: 'label', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
  }
  for (const [fraction, anchor] of [[1, 'start'], [0.5, 'middle'], [0, 'end']]) {
    const ago = spanMs * fraction;
    children.push(el('text', { class: 'label', x: x(now - ago), y: H - 6, 'text-anchor': anchor }, ago === 0 ? 'now' : `−${formatDuration(ago / 1000)}`));
  }
  for (const s of series) {
    let d = '';
    let pen = false;
    for (const p of points) {
      const v = s.value(p);
      if (p.at < t0 || v === null || v === undefined) {
        pen = false;
        continue;
      }
      if (s.breakOnGap && p.gap) pen = false;
      d += `${pen ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(v).toFixed(1)}`;
      pen = true;
    }
    if (d) children.push(el('path', { class: s.className, d }));
  }
  svg.replaceChildren(...children);
  svg.setAttribute('aria-label', label);
}

function renderCharts() {
  const q = state.queues.get(state.selected);
  if (!q) return;
  const stored = state.history.get(q.queue_id) ?? [];
  // The live reading is the rightmost point; the stored samples come every few seconds.
  const live = {
    at: q.at,
    waiting: q.waiting,
    admissions_per_minute: q.admission_pace_per_minute,
    admission_rate_per_minute: q.admission_rate_per_minute,
    status: q.status,
    gap: false,
  };
  const points = [...stored.filter((p) => p.at < q.at), live];
  const peak = Math.max(0, ...points.map((p) => p.waiting));
  const spanMs = chartSpanMs(points, q.at);
  const span = `last ${spanMs / 60_000} minutes`;
  for (const node of document.querySelectorAll('[data-chart-span]')) node.textContent = span;
  drawChart($('chart-waiting'), points, [{ className: 'waiting', value: (p) => p.waiting, breakOnGap: true }], q.at, spanMs,
    `Queue length over the ${span}: now ${fmt(q.waiting)}, peak ${fmt(peak)}.`);
  drawChart(
    $('chart-admissions'),
    points,
    [
      { className: 'rate', value: (p) => p.admission_rate_per_minute, breakOnGap: false },
      { className: 'admitted', value: (p) => p.admissions_per_minute, breakOnGap: true },
    ],
    q.at,
    spanMs,
    `Admissions per minute over the ${span}: now ${fmt(q.admission_pace_per_minute)} against ${fmt(q.admission_rate_per_minute)} configured.`,
  );
}

function addActivity(e) {
  const li = document.createElement('li');
  const time = new Date(e.at).toLocaleTimeString();
  const d = e.data ?? {};
  const what = {
    'queue.created': 'queue created',
    'queue.updated': `settings changed: ${Object.entries(d.changes ?? {}).map(([k, v]) => `${k} = ${v}`).join(', ')}`,
    'queue.paused': 'paused',
    'queue.resumed': 'resumed',
    'session.terminated': `session ${d.session_id} revoked`,
  }[e.type] ?? e.type;
  li.textContent = `${time} · ${e.queue_id}: ${what}`;
  const list = $('activity');
  list.prepend(li);
  while (list.children.length > 50) list.lastElementChild.remove();
}

// --- controls (the admin REST API) ------------------------------------------------------------

async function adminCall(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { 'x-admin-key': state.key, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error?.message ?? `HTTP ${res.status}`);
  return json;
}

function result(ok, text) {
  const el = $('control-result');
  el.dataset.ok = String(ok);
  el.textContent = text;
}

async function control(action, describe) {
  try {
    await action();
    result(true, describe);
  } catch (err) {
    result(false, err.message);
  }
}

const patchQueue = (patch) => adminCall('PATCH', `/api/v1/admin/queues/${encodeURIComponent(state.selected)}`, patch);

function wire() {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.key = $('key').value;
    $('key').value = '';
    $('login-error').textContent = '';
    state.socket?.close();
    connect();
  });
  $('signout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = '';
    state.signedIn = false;
    const ws = state.socket;
    state.socket = null;
    ws?.close();
    showLogin('');
  });
  $('queue-select').addEventListener('change', (e) => select(e.target.value));
  for (const b of document.querySelectorAll('[data-set-status]')) {
    b.addEventListener('click', () => control(() => patchQueue({ status: b.dataset.setStatus }), `${state.selected}: status set to ${b.dataset.setStatus}`));
  }
  $('limits-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const rate = Number($('rate-input').value);
    const maxActive = Number($('max-active-input').value);
    $('rate-input').blur();
    $('max-active-input').blur();
    control(
      () => patchQueue({ admission_rate_per_minute: rate, max_active_users: maxActive }),
      `${state.selected}: ${fmt(rate)} admissions / min, at most ${fmt(maxActive)} active`,
    );
  });
  $('revoke-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const id = $('session-input').value.trim();
    control(async () => {
      await adminCall('DELETE', `/api/v1/admin/sessions/${encodeURIComponent(id)}`);
      $('session-input').value = '';
    }, `session ${id} revoked`);
  });
  if (state.key) connect();
  else showLogin('');
}

wire();
