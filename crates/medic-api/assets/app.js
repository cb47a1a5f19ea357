'use strict';
// medic dashboard: plain DOM, no framework, no build step.
// Every string that comes from the API goes through textContent / setAttribute,
// never innerHTML: titles, errors and evidence are log lines an attacker can shape.
(function () {
  const KEY_STORE = 'medic.apiKey';   // sessionStorage: the key dies with the tab
  const THEME_STORE = 'medic.theme';  // localStorage: a preference, not a secret
  const POLL_MS = 5000;               // fallback poll, also refreshes latency percentiles
  const DEBOUNCE_MS = 200;            // coalesce bursts of events into one fetch per section
  const STALL_MS = 45000;             // keep-alives arrive every 15 s; 3 missed = dead stream
  const ALL = ['health', 'monitoring', 'components', 'approvals', 'incidents', 'detail',
    'recovery', 'breakers', 'maintenance', 'learning'];
  // Mirrors IncidentStatus::is_terminal in medic-model.
  const TERMINAL = new Set(['resolved', 'escalated', 'failed']);

  const state = {
    key: sessionStorage.getItem(KEY_STORE) || '',
    authed: false,
    selected: null,   // incident id (string) shown in the detail panel
    data: {},         // last payload per section (counters, probe updates)
    shown: {},        // JSON each section last rendered: skip no-op re-renders so
                      // open <details> and focus survive the 5 s poll
    lastUpdate: 0,
    lastEvent: 0,
  };

  const $ = (sel, root = document) => root.querySelector(sel);
  const q = encodeURIComponent;

  // ---------------------------------------------------------------- DOM helpers
  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = String(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    for (const k of kids.flat(Infinity)) if (k != null && k !== false) el.append(k);
    return el;
  }
  function s(tag, attrs, ...kids) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(el, attrs);
    for (const k of kids.flat(Infinity)) if (k != null && k !== false) el.append(k);
    return el;
  }
  const empty = text => h('p', { class: 'empty', text });
  // Small SVG meter (not a style="width:…" attribute, which a strict CSP would block).
  const meter = frac => s('svg', { class: 'meter', viewBox: '0 0 100 6', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
    s('rect', { class: 'track', width: 100, height: 6, rx: 3 }),
    s('rect', { class: 'fill', width: Math.round(Math.max(0, Math.min(1, num(frac) ? frac : 0)) * 100), height: 6, rx: 3 }));
  const tag = (text, cls = 'tag') => h('span', { class: cls, text });

  // Status word -> colour family. The word itself is always rendered too.
  const TONES = {
    ok: ['healthy', 'closed', 'succeeded', 'resolved', 'approved', 'success', 'healed'],
    warn: ['suspect', 'degraded', 'half_open', 'diagnosing', 'awaiting_approval', 'pending', 'medium'],
    bad: ['unhealthy', 'open', 'failed', 'rejected', 'escalated', 'high', 'not healed'],
    crit: ['critical'],
    info: ['recovering', 'remediating', 'verifying', 'running'],
    flap: ['flapping'],
  };
  const TONE_OF = {};
  for (const [t, words] of Object.entries(TONES)) for (const w of words) TONE_OF[w] = t;
  const tone = word => TONE_OF[word] || 'unk';
  const badge = (word, extra = '') =>
    h('span', { class: ('badge ' + extra).trim(), 'data-tone': tone(word || 'unknown'),
      text: String(word || 'unknown').replace(/_/g, ' ') });

  // ---------------------------------------------------------------- formatting
  const num = x => typeof x === 'number' && isFinite(x);
  const fmtPct = (x, d = 1) => (num(x) ? (x * 100).toFixed(x === 0 || x === 1 ? 0 : d) + '%' : '—');
  function fmtMs(ms) {
    if (!num(ms)) return '—';
    if (ms < 10) return ms.toFixed(1) + ' ms';
    if (ms < 1000) return Math.round(ms) + ' ms';
    return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  }
  function fmtDur(ms) {
    let sec = Math.max(0, Math.floor(ms / 1000));
    if (sec < 60) return sec + 's';
    const m = Math.floor(sec / 60); sec %= 60;
    if (m < 60) return m + 'm ' + String(sec).padStart(2, '0') + 's';
    const hr = Math.floor(m / 60);
    if (hr < 48) return hr + 'h ' + String(m % 60).padStart(2, '0') + 'm';
    return Math.floor(hr / 24) + 'd';
  }
  function ago(ts, now = Date.now()) {
    const t = Date.parse(ts);
    return isNaN(t) ? '—' : fmtDur(now - t) + ' ago';
  }
  function clockTime(ts) {
    const d = new Date(ts);
    return isNaN(d) ? '—' : d.toLocaleTimeString([], { hour12: false });
  }
  // A <time> whose relative text the 1 s ticker keeps current.
  const timeAgo = ts => (ts ? h('time', { datetime: ts, title: new Date(ts).toLocaleString(),
    'data-ago': ts, text: ago(ts) }) : '—');
  const timeAbs = ts => (ts ? h('time', { datetime: ts, title: new Date(ts).toLocaleString(),
    text: clockTime(ts) }) : '—');

  // ---------------------------------------------------------------- API
  class AuthError extends Error {}
  async function errMessage(res) {
    try {
      const j = await res.json();
      if (j && j.error) return (j.error.message || j.error.code) + ' (' + res.status + ')';
    } catch (_) { /* not JSON */ }
    return ('HTTP ' + res.status + ' ' + res.statusText).trim();
  }
  function authHeaders(extra) {
    const headers = Object.assign({}, extra);
    if (state.key) headers['X-API-Key'] = state.key;
    return headers;
  }
  async function api(path, method = 'GET') {
    const sentKey = state.key;
    let res;
    try {
      res = await fetch(path, { method, headers: authHeaders({ Accept: 'application/json' }), cache: 'no-store' });
    } catch (e) {
      throw new Error('server unreachable');
    }
    if (res.status === 401) {
      const msg = await errMessage(res);
      onUnauthorized(msg, sentKey);
      throw new AuthError(msg);
    }
    if (!res.ok) {
      const err = new Error(await errMessage(res));
      err.status = res.status;
      throw err;
    }
    return res.status === 204 ? null : res.json();
  }

  // One fetcher and one renderer per section; refresh() runs any subset.
  const FETCH = {
    health: () => api('/api/v1/health'),
    monitoring: () => api('/api/v1/monitoring/status'),
    components: () => api('/api/v1/components').then(r => r.components || []),
    approvals: () => api('/api/v1/approvals?status=pending').then(r => r.approvals || []),
    incidents: async () => {
      // Two queries so an old open incident is never pushed out of the recent 50.
      const [open, recent] = await Promise.all([
        api('/api/v1/incidents?status=open&limit=50'), api('/api/v1/incidents?limit=50')]);
      const byId = new Map();
      for (const i of [...(open.incidents || []), ...(recent.incidents || [])]) byId.set(i.id, i);
      return [...byId.values()];
    },
    detail: async () => {
      if (state.selected == null) return null;
      try {
        return await api('/api/v1/incidents/' + q(state.selected));
      } catch (e) {
        if (e.status === 404) return { missing: true };
        throw e;
      }
    },
    recovery: async () => {
      const [stats, recent] = await Promise.all([
        api('/api/v1/recovery/stats'), api('/api/v1/recovery/recent?count=20')]);
      return { stats, recent: recent.recoveries || [] };
    },
    breakers: () => api('/api/v1/circuit-breakers').then(r => r.breakers || []),
    maintenance: () => api('/api/v1/maintenance').then(r => r.windows || []),
    learning: () => api('/api/v1/learning').then(r => r.remedies || []),
  };

  const seq = {};
  async function load(key) {
    const n = (seq[key] = (seq[key] || 0) + 1);
    const data = await FETCH[key]();
    if (n !== seq[key] || !state.authed) return; // a newer request owns this panel
    state.data[key] = data;
    const json = JSON.stringify(data);
    if (state.shown[key] === json) return;
    state.shown[key] = json;
    RENDER[key](data);
  }

  async function refresh(keys) {
    if (!state.authed) return;
    const results = await Promise.allSettled(keys.map(load));
    const errs = [];
    results.forEach((r, i) => {
      if (r.status !== 'rejected' || r.reason instanceof AuthError) return;
      errs.push(keys[i] + ': ' + r.reason.message);
      // A panel that never loaded says so; one with data keeps it (the banner tells it is stale).
      if (!state.shown[keys[i]] && BODY[keys[i]]) $(BODY[keys[i]]).replaceChildren(empty('Unavailable: ' + r.reason.message));
    });
    if (errs.length) {
      showBanner('Could not load ' + errs[0] + (errs.length > 1 ? ' (+' + (errs.length - 1) + ' more)' : ''));
    } else if (state.authed) {
      clearBanner();
      state.lastUpdate = Date.now();
    }
  }

  // Coalesce: the first event arms a 200 ms timer, later ones just add sections.
  const dirty = new Set();
  let flushTimer = 0;
  function schedule(...keys) {
    keys.forEach(k => dirty.add(k));
    if (!flushTimer) flushTimer = setTimeout(() => {
      flushTimer = 0;
      const keys2 = [...dirty];
      dirty.clear();
      refresh(keys2);
    }, DEBOUNCE_MS);
  }

  // ---------------------------------------------------------------- banner
  let bannerHoldUntil = 0;
  function showBanner(msg, holdMs = 0) {
    $('#banner-text').textContent = msg;
    $('#banner').hidden = false;
    // Action errors (e.g. 409 already decided) must survive the next successful poll.
    bannerHoldUntil = Math.max(bannerHoldUntil, Date.now() + holdMs);
  }
  function clearBanner() {
    if (Date.now() >= bannerHoldUntil) $('#banner').hidden = true;
  }

  // ---------------------------------------------------------------- header
  function renderHealth(hl) {
    const st = hl.system_status || 'unknown';
    const box = $('#system-status');
    box.dataset.status = st;
    box.replaceChildren(badge(st, 'big'), h('span', { class: 'sys-msg', text: hl.message || '' }));
    document.title = 'medic · ' + st; // readable from a tab strip too
    const issues = hl.issues || [];
    $('#issues').replaceChildren(...issues.map(i => h('li', { text: i })));
    $('#issues').hidden = !issues.length;
    renderCounters();
  }

  function renderCounters() {
    const hl = state.data.health || {};
    const det = hl.details || {};
    const mon = state.data.monitoring;
    const active = (state.data.incidents || []).filter(i => !TERMINAL.has(i.status)).length;
    const pending = (state.data.approvals || []).length;
    // [hook, value, label, tone when non-zero]
    const items = [
      ['components', det.components, 'targets', null],
      ['healthy', det.healthy, 'healthy', 'ok'],
      ['degraded', det.degraded, 'degraded', 'warn'],
      ['unhealthy', det.unhealthy, 'unhealthy', 'bad'],
      ['critical', det.critical, 'critical', 'crit'],
      ['incidents', active, 'active incidents', 'bad'],
      ['approvals', pending, 'pending approvals', 'warn'],
      ['error-rate', fmtPct(hl.error_rate), 'error rate', null],
      ['success-rate', fmtPct(hl.success_rate), 'success rate', null],
    ];
    const lis = items.map(([hook, v, label, t]) => h('li',
      { 'data-counter': hook, 'data-tone': t && num(v) && v > 0 ? t : null },
      h('span', { class: 'num', text: v == null ? '—' : v }), h('span', { class: 'lbl', text: label })));
    if (mon) {
      lis.push(h('li', { 'data-counter': 'monitor', 'data-tone': mon.running ? null : 'bad',
        title: mon.targets + ' targets · ' + mon.probes + ' probes' },
      h('span', { class: 'num', text: mon.running ? 'running' : 'stopped' }),
      h('span', { class: 'lbl', text: 'monitor · ' + mon.probes + ' probes' })));
    }
    $('#counters').replaceChildren(...lis);
  }

  function setLive(connected, text) {
    const el = $('#live');
    el.dataset.connected = String(connected);
    $('#live-text').textContent = text || (connected ? 'live' : 'offline');
  }

  // ---------------------------------------------------------------- targets
  const STATE_RANK = { unhealthy: 0, flapping: 1, recovering: 2, suspect: 3, unknown: 4, healthy: 5 };

  // Latency sparkline: fixed step so 60 samples fill the width and fewer are
  // right-aligned (newest always at the right edge); y from 0 so jitter looks small.
  function sparkline(values, st) {
    const v = (values || []).filter(num);
    if (v.length < 2) return h('span', { class: 'muted small', text: v.length ? fmtMs(v[0]) : 'no samples' });
    const W = 120, H = 30, P = 3;
    const max = Math.max(...v) || 1;
    const step = (W - 2 * P) / 59;
    const x = i => W - P - (v.length - 1 - i) * step;
    const y = val => H - P - (val / max) * (H - 2 * P);
    const pts = v.map((val, i) => x(i).toFixed(1) + ',' + y(val).toFixed(1));
    const last = v[v.length - 1];
    const label = 'latency: last ' + fmtMs(last) + ', min ' + fmtMs(Math.min(...v)) + ', max ' + fmtMs(max) + ' (' + v.length + ' probes)';
    return s('svg', { class: 'spark', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H,
      'data-tone': tone(st), role: 'img', 'aria-label': label },
    s('title', { text: label }),
    s('polygon', { class: 'area', points: x(0).toFixed(1) + ',' + (H - P) + ' ' + pts.join(' ') + ' ' + (W - P) + ',' + (H - P) }),
    s('polyline', { class: 'line', points: pts.join(' ') }),
    s('circle', { class: 'dot', cx: x(v.length - 1).toFixed(1), cy: y(last).toFixed(1), r: 2.5 }));
  }

  function renderTargets(list) {
    $('#targets-count').textContent = list.length ? String(list.length) : '';
    if (!list.length) return $('#targets-body').replaceChildren(empty('No targets configured.'));
    // Problems first: on a wall screen the eye should land on what is broken.
    const rows = [...list].sort((a, b) => (STATE_RANK[a.state] ?? 4) - (STATE_RANK[b.state] ?? 4) ||
      String(a.name).localeCompare(String(b.name))).map(c => {
      const hl = c.health || {};
      const lat = hl.latency || {};
      const labels = Object.entries(c.labels || {}).map(([k, v]) => k + '=' + v);
      const info = 'probes: ' + (c.probes || []).join(', ') + '\nremedies: ' + (c.remedies || []).join(', ');
      return h('tr', { 'data-target': c.name, 'data-state': c.state, 'data-tone': tone(c.state) },
        h('td', { class: 'name', title: info },
          h('div', { class: 'strong', text: c.name }),
          h('div', { class: 'sub', text: [c.source].concat(labels).filter(Boolean).join(' · ') })),
        h('td', null, badge(c.state),
          hl.status && hl.status !== c.state ? h('div', { class: 'sub', text: 'health: ' + hl.status }) : null),
        h('td', { class: 'num' }, h('div', { text: fmtPct(hl.error_rate) }),
          h('div', { class: 'sub', text: (hl.errors || 0) + '/' + (hl.calls || 0) + ' calls' })),
        // No calls in the window means no latency, not a latency of zero.
        h('td', { class: 'num', text: hl.calls ? fmtMs(lat.p50_ms) : '—' }),
        h('td', { class: 'num', text: hl.calls ? fmtMs(lat.p95_ms) : '—' }),
        h('td', { class: 'spark-cell' }, sparkline(c.latency_ms, c.state)),
        h('td', { class: 'last-error mono', title: hl.last_error || '' }, hl.last_error || h('span', { class: 'muted', text: '—' })));
    });
    $('#targets-body').replaceChildren(h('table', { class: 'tbl targets' },
      h('thead', null, h('tr', null, ['Target', 'State', 'Errors', 'p50', 'p95', 'Latency', 'Last error']
        .map((t, i) => h('th', { class: i >= 2 && i <= 4 ? 'num' : null, text: t })))),
      h('tbody', null, rows)));
  }

  // Probe events arrive often: redraw just that row's sparkline, no fetch.
  function onProbe(p) {
    if (!p || !Array.isArray(state.data.components)) return;
    const c = state.data.components.find(x => x.name === p.target);
    if (!c) return schedule('components');
    if (num(p.latency_ms)) c.latency_ms = (c.latency_ms || []).concat(p.latency_ms).slice(-60);
    const cell = $('tr[data-target="' + CSS.escape(String(p.target)) + '"] .spark-cell');
    if (cell) cell.replaceChildren(sparkline(c.latency_ms, c.state));
    if (p.healthy === false) schedule('components', 'health');
  }

  // ---------------------------------------------------------------- approvals
  function renderApprovals(list) {
    const items = [...list].sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at));
    $('#approvals-count').textContent = items.length ? String(items.length) : '';
    $('#approvals').dataset.pending = String(items.length);
    renderCounters();
    if (!items.length) return $('#approvals-body').replaceChildren(empty('No pending approvals.'));
    $('#approvals-body').replaceChildren(...items.map(a => h('div', { class: 'approval', 'data-approval': a.id },
      h('div', { class: 'row' },
        h('span', { class: 'strong', text: a.target }),
        h('span', { class: 'arrow', text: '→' }),
        h('span', { class: 'mono strong', text: a.remedy }),
        badge(a.status || 'pending')),
      h('div', { class: 'reason', text: a.reason || '' }),
      h('div', { class: 'meta' },
        h('button', { type: 'button', class: 'link', 'data-open-incident': a.incident_id, text: 'incident #' + a.incident_id }),
        h('span', null, ' · requested ', timeAgo(a.requested_at)),
        h('span', null, ' · ', h('strong', { class: 'expires', 'data-expires': a.expires_at, text: countdown(a.expires_at) }))),
      h('div', { class: 'btns' },
        h('button', { type: 'button', class: 'btn approve', 'data-approve': a.id, text: 'Approve' }),
        h('button', { type: 'button', class: 'btn reject', 'data-reject': a.id, text: 'Reject' })))));
  }
  function countdown(ts, now = Date.now()) {
    const left = Date.parse(ts) - now;
    if (isNaN(left)) return 'no expiry';
    return left > 0 ? fmtDur(left) + ' left' : 'expired';
  }

  // ---------------------------------------------------------------- incidents
  function renderIncidents(list) {
    const active = list.filter(i => !TERMINAL.has(i.status))
      .sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
    const recent = list.filter(i => TERMINAL.has(i.status))
      .sort((a, b) => Date.parse(b.closed_at || b.updated_at) - Date.parse(a.closed_at || a.updated_at)).slice(0, 50);
    $('#incidents-count').textContent = active.length ? active.length + ' active' : '';
    renderCounters();
    if (!list.length) return $('#incidents-body').replaceChildren(empty('No incidents.'));
    const awaiting = new Set((state.data.approvals || []).map(a => a.incident_id));
    const row = i => h('tr', { 'data-incident': i.id, 'data-status': i.status, 'data-tone': tone(i.status),
      tabindex: 0, 'aria-selected': String(String(i.id) === state.selected) },
    h('td', { class: 'num muted', text: '#' + i.id }),
    // The status stays 'diagnosing' while an action waits for a human: say so.
    h('td', null, badge(i.status), awaiting.has(i.id) ? h('div', { class: 'sub', text: 'awaiting approval' }) : null),
    h('td', null, i.severity ? badge(i.severity, 'sev') : h('span', { class: 'muted', text: '—' })),
    h('td', { class: 'title' },
      h('div', { class: 'strong clip', text: i.title || '(untitled)', title: i.title || '' }),
      h('div', { class: 'sub', text: [i.target, i.category].filter(Boolean).join(' · ') })),
    h('td', null, timeAgo(i.opened_at)),
    h('td', { class: 'num', text: num(i.time_to_recover_ms) ? fmtMs(i.time_to_recover_ms) : '—' }),
    h('td', { class: 'sub nowrap', title: i.acknowledged_by ? 'acknowledged by ' + i.acknowledged_by : null, text: i.acknowledged_by || '' }));
    const group = (label, items) => h('tbody', null,
      h('tr', { class: 'group' }, h('th', { colspan: 7, scope: 'colgroup', text: label + ' (' + items.length + ')' })),
      items.length ? items.map(row) : h('tr', null, h('td', { colspan: 7, class: 'empty', text: label === 'Active' ? 'No open incidents.' : 'No closed incidents yet.' })));
    $('#incidents-body').replaceChildren(h('table', { class: 'tbl incidents' },
      h('thead', null, h('tr', null, ['#', 'Status', 'Severity', 'Incident', 'Opened', 'TTR', 'Ack']
        .map((t, i) => h('th', { class: i === 0 || i === 5 ? 'num' : null, text: t })))),
      group('Active', active), group('Recent', recent)));
  }

  function select(id) {
    if (id != null && String(id) === state.selected) return; // already shown; the poll keeps it fresh
    state.selected = id == null ? null : String(id);
    state.shown.detail = null;
    history.replaceState(null, '', location.pathname + location.search + (id == null ? '' : '#incident=' + q(id)));
    for (const tr of document.querySelectorAll('tr[data-incident]')) {
      tr.setAttribute('aria-selected', String(tr.dataset.incident === state.selected));
    }
    seq.detail = (seq.detail || 0) + 1; // drop any in-flight response for the previous one
    renderDetail(null);
    if (id != null) {
      load('detail').catch(e => { if (!(e instanceof AuthError)) showBanner('Could not load incident: ' + e.message); });
      if (window.innerWidth < 1100) $('#incident-detail').scrollIntoView({ behavior: 'smooth' });
    }
  }

  // ---------------------------------------------------------------- incident detail
  function renderDetail(d) {
    const panel = $('#incident-detail');
    panel.dataset.incidentId = state.selected || '';
    $('[data-close-detail]').hidden = state.selected == null;
    const body = $('#detail-body');
    if (!d) return body.replaceChildren(empty(state.selected ? 'Loading incident #' + state.selected + '…' : 'Select an incident to see its timeline.'));
    if (d.missing) return body.replaceChildren(empty('Incident #' + state.selected + ' not found.'));
    const inc = d.incident || {};
    const actions = [...(d.actions || [])].sort((a, b) => (a.step - b.step) || (a.id - b.id));
    const timeline = [...(d.timeline || [])].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.id - b.id);
    body.replaceChildren(
      detailHead(inc),
      section('Diagnosis', d.diagnosis ? diagnosisView(d.diagnosis) : empty('No diagnosis yet.')),
      section('Actions', actions.length ? actions.map(a => actionView(a, verificationsFor(a, actions, timeline)))
        : empty('No actions recorded.')),
      section('Timeline', timeline.length ? h('ol', { class: 'timeline' }, timeline.map(timelineItem)) : empty('No timeline entries.')));
  }
  const section = (title, ...kids) => h('section', { class: 'sub-section' }, h('h3', { text: title }), kids);

  function detailHead(inc) {
    const meta = [
      ['Target', inc.target], ['Opened', inc.opened_at && [timeAbs(inc.opened_at), ' (', timeAgo(inc.opened_at), ')']],
      ['Updated', inc.updated_at && timeAgo(inc.updated_at)], ['Closed', inc.closed_at && timeAbs(inc.closed_at)],
      ['Time to recover', num(inc.time_to_recover_ms) && fmtMs(inc.time_to_recover_ms)],
      ['Acknowledged by', inc.acknowledged_by], ['Fingerprint', inc.fingerprint && h('span', { class: 'mono', text: inc.fingerprint })],
    ].filter(([, v]) => v);
    return h('div', { class: 'detail-head', 'data-incident-detail': inc.id, 'data-status': inc.status },
      h('div', { class: 'detail-title' }, h('span', { class: 'muted', text: '#' + inc.id + ' ' }), h('span', { text: inc.title || '(untitled)' })),
      h('div', { class: 'chips' }, badge(inc.status), inc.severity && badge(inc.severity, 'sev'), inc.category && tag(inc.category)),
      h('dl', { class: 'meta-grid' }, meta.map(([k, v]) => [h('dt', { text: k }), h('dd', null, v)])),
      inc.status !== 'resolved' && h('div', { class: 'btns' },
        h('button', { type: 'button', class: 'btn', 'data-ack': inc.id, disabled: !!inc.acknowledged_by,
          text: inc.acknowledged_by ? 'Acknowledged' : 'Ack' }),
        // Escalated and failed incidents too: the human who fixed it says so.
        h('button', { type: 'button', class: 'btn primary', 'data-resolve': inc.id, text: 'Resolve' })));
  }

  function diagnosisView(dg) {
    const conf = num(dg.confidence) ? Math.max(0, Math.min(1, dg.confidence)) : null;
    return h('div', { class: 'diagnosis' },
      h('div', { class: 'root-cause', text: dg.root_cause || '(no root cause)' }),
      h('div', { class: 'chips' },
        dg.category && tag(dg.category), dg.severity && badge(dg.severity, 'sev'),
        conf != null && h('span', { class: 'conf', title: 'confidence' },
          meter(conf),
          h('span', { text: Math.round(conf * 100) + '% confidence' })),
        (dg.sources || []).length ? tag('via ' + dg.sources.join(', '), 'tag muted') : null,
        // What the category rests on: the policy trusts outside text less.
        dg.grounds && h('span', {
          class: 'tag muted', 'data-grounds': dg.grounds,
          title: dg.grounds === 'observed'
            ? "medic's own probe or a process exit: held to min_confidence"
            : 'text from outside (logs, alerts, CI logs): held to min_confidence_from_text',
          text: dg.grounds === 'observed' ? 'seen by medic' : 'read from text',
        }),
        dg.rule && tag('rule ' + dg.rule, 'tag mono')),
      (dg.evidence || []).length ? h('div', { class: 'logs', 'aria-label': 'evidence' },
        dg.evidence.map(line => h('div', { class: 'line', text: line }))) : null);
  }

  // Verification entries carry no action id; attach each to the last action
  // intended before it (medic verifies right after each remedy).
  function verificationsFor(action, actions, timeline) {
    const t0 = Date.parse(action.intended_at);
    const later = actions.filter(a => Date.parse(a.intended_at) > t0).map(a => Date.parse(a.intended_at));
    const t1 = later.length ? Math.min(...later) : Infinity;
    return timeline.filter(e => e.kind === 'verification' && Date.parse(e.at) >= t0 && Date.parse(e.at) < t1);
  }

  function actionView(a, verifs) {
    const start = Date.parse(a.started_at), end = Date.parse(a.finished_at);
    return h('div', { class: 'action', 'data-action': a.id, 'data-state': a.state, 'data-tone': tone(a.state) },
      h('div', { class: 'row' },
        h('span', { class: 'muted', text: 'step ' + a.step }),
        h('span', { class: 'mono strong', text: a.remedy }),
        h('span', { class: 'muted', text: a.kind }),
        badge(a.state), a.dry_run && tag('dry run', 'tag warn'),
        h('span', { class: 'grow' }),
        h('span', { class: 'muted small' }, timeAbs(a.started_at || a.intended_at),
          !isNaN(start) && !isNaN(end) ? ' · ' + fmtMs(end - start) : '')),
      a.output ? h('pre', { class: 'out', text: a.output }) : null,
      a.error ? h('pre', { class: 'out err', text: a.error }) : null,
      verifs.map(v => h('div', { class: 'verif' }, tag('verification', 'tag'), ' ', h('span', { text: v.message }))));
  }

  function timelineItem(e) {
    const hasData = e.data && typeof e.data === 'object' && Object.keys(e.data).length > 0;
    return h('li', { 'data-kind': e.kind },
      h('span', { class: 'when' }, timeAbs(e.at)),
      h('span', { class: 'kind', text: e.kind }),
      h('span', { class: 'msg' }, h('span', { text: e.message }),
        hasData ? h('details', null, h('summary', { text: 'data' }), h('pre', { class: 'out', text: JSON.stringify(e.data, null, 2) })) : null));
  }

  // ---------------------------------------------------------------- recovery
  function rateTone(r) { return !num(r) ? 'unk' : r >= 0.9 ? 'ok' : r >= 0.6 ? 'warn' : 'bad'; }

  // One row per key: an SVG bar (green successes + red failures, scaled to the
  // busiest key) with the numbers beside it so the chart reads without colour.
  function barChart(title, obj) {
    const entries = Object.entries(obj || {}).sort((a, b) => (b[1].total_recoveries || 0) - (a[1].total_recoveries || 0));
    const max = Math.max(1, ...entries.map(([, v]) => v.total_recoveries || 0));
    return h('figure', { class: 'chart' }, h('figcaption', { text: title }),
      entries.length ? entries.map(([k, v]) => {
        const ok = v.successful_recoveries || 0, bad = v.failed_recoveries || 0;
        return h('div', { class: 'bar-row', 'data-key': k },
          h('span', { class: 'bar-label mono', title: k, text: k }),
          s('svg', { class: 'bar', viewBox: '0 0 100 10', preserveAspectRatio: 'none', role: 'img',
            'aria-label': k + ': ' + ok + ' succeeded, ' + bad + ' failed' },
          s('rect', { class: 'track', x: 0, y: 0, width: 100, height: 10 }),
          s('rect', { class: 'ok', x: 0, y: 0, width: (ok / max) * 100, height: 10 }),
          s('rect', { class: 'bad', x: (ok / max) * 100, y: 0, width: (bad / max) * 100, height: 10 })),
          h('span', { class: 'bar-num', text: ok + '/' + (v.total_recoveries || 0) + ' · ' + fmtPct(v.success_rate, 0) + ' · ' + fmtMs(v.avg_duration_ms) }));
      }) : empty('No data yet.'));
  }

  function renderRecovery({ stats, recent }) {
    const o = (stats && stats.overall) || {};
    const any = o.total_recoveries > 0; // rates and averages of nothing are not 0
    const big = (label, value, t) => h('div', { class: 'kpi', 'data-tone': t || null },
      h('div', { class: 'kpi-num', text: value }), h('div', { class: 'kpi-lbl', text: label }));
    const kpis = h('div', { class: 'kpis' },
      // Verified outcomes: a fix counts once the target was healthy after it.
      big('healed (verified)', any ? fmtPct(o.success_rate) : '—', any ? rateTone(o.success_rate) : null),
      big('remedies run', String(o.total_recoveries || 0)),
      big('healed', String(o.successful_recoveries || 0)),
      big('not healed', String(o.failed_recoveries || 0), o.failed_recoveries ? 'bad' : null),
      big('avg duration', any ? fmtMs(o.avg_duration_ms) : '—'));
    const charts = h('div', { class: 'charts' },
      barChart('By action', stats && stats.by_action), barChart('By component', stats && stats.by_component));
    const rows = recent.slice().sort((a, b) => Date.parse(b.timestamp) - Date.parse(a.timestamp)).map(r =>
      h('tr', { 'data-recovery': r.operation || '', 'data-success': String(!!r.success) },
        h('td', null, timeAgo(r.timestamp)),
        h('td', { class: 'strong nowrap', text: r.component }),
        h('td', { class: 'mono nowrap', text: r.action }),
        h('td', null, badge(r.action_state || (r.success ? 'succeeded' : 'failed'))),
        h('td', null, badge(r.success ? 'healed' : 'not healed')),
        h('td', { class: 'num', text: r.attempts }),
        h('td', { class: 'num', text: fmtMs(r.duration_ms) }),
        h('td', { class: 'last-error mono', title: r.error || '' },
          [r.error_category, r.error].filter(Boolean).join(': ') || h('span', { class: 'muted', text: r.operation || '—' }))));
    $('#recovery-body').replaceChildren(kpis, charts,
      h('h3', { class: 'minor', text: 'Recent recoveries' }),
      rows.length ? h('table', { class: 'tbl recent' },
        h('thead', null, h('tr', null, ['When', 'Component', 'Action', 'Action result', 'Healed', 'Tries', 'Took', 'Error / operation']
          .map((t, i) => h('th', { class: i === 5 || i === 6 ? 'num' : null, text: t })))),
        h('tbody', null, rows)) : empty('No recoveries yet.'));
  }

  // ---------------------------------------------------------------- breakers & learning
  const BREAKER_RANK = { open: 0, half_open: 1, closed: 2 };
  function renderBreakers(list) {
    const items = [...list].sort((a, b) => (BREAKER_RANK[a.state] ?? 3) - (BREAKER_RANK[b.state] ?? 3) ||
      String(a.name).localeCompare(String(b.name)));
    const notClosed = items.filter(b => b.state !== 'closed').length;
    $('#breakers-count').textContent = items.length ? (notClosed ? notClosed + ' not closed' : String(items.length)) : '';
    if (!items.length) return $('#breakers-body').replaceChildren(empty('No circuit breakers yet.'));
    $('#breakers-body').replaceChildren(h('ul', { class: 'breakers' }, items.map(b =>
      h('li', { 'data-breaker': b.name, 'data-state': b.state, 'data-tone': tone(b.state) },
        h('div', { class: 'row' }, h('span', { class: 'mono strong clip', title: b.name, text: b.name }), h('span', { class: 'grow' }), badge(b.state)),
        h('div', { class: 'sub' },
          b.calls + ' calls · ' + b.failures + ' failed (' + fmtPct(b.failure_rate, 0) + ')' +
          (b.slow_calls ? ' · ' + b.slow_calls + ' slow' : '') +
          (b.consecutive_failures ? ' · ' + b.consecutive_failures + ' in a row' : '') +
          (b.state !== 'closed' && b.retry_in_ms > 0 ? ' · retry in ' + fmtMs(b.retry_in_ms) : ''))))));
  }

  // Windows in force first (the API sorts them so), then those to come.
  function renderMaintenance(list) {
    const active = list.filter(w => w.active).length;
    $('#maintenance-count').textContent = list.length ? (active ? active + ' in force' : String(list.length)) : '';
    if (!list.length) return $('#maintenance-body').replaceChildren(empty('No maintenance window in force or planned.'));
    $('#maintenance-body').replaceChildren(h('ul', { class: 'windows' }, list.map(w =>
      h('li', { 'data-window': w.name, 'data-active': String(!!w.active), 'data-tone': w.active ? 'warn' : 'unk' },
        h('div', { class: 'row' },
          h('span', { class: 'strong clip', title: w.name, text: w.name }), h('span', { class: 'grow' }),
          tag(w.active ? 'in force' : 'upcoming'), tag(w.source)),
        h('div', { class: 'sub' },
          (w.active ? 'until ' : 'from ') , timeAbs(w.active ? w.ends_at : w.starts_at),
          w.active ? null : [' to ', timeAbs(w.ends_at)],
          ' · covers ' + ((w.covers || []).join(', ') || 'no target yet'),
          w.schedule ? ' · ' + w.schedule : '',
          w.opened_by ? ' · opened by ' + w.opened_by : '')))));
  }

  function renderLearning(list) {
    if (!list.length) return $('#learning-body').replaceChildren(empty('Nothing learned yet: the catalog fills as remedies are tried.'));
    const rows = [...list].sort((a, b) => String(a.fingerprint).localeCompare(String(b.fingerprint)) ||
      (b.success_rate || 0) - (a.success_rate || 0)).map(r => h('tr', { 'data-fingerprint': r.fingerprint, 'data-remedy': r.remedy },
      h('td', { class: 'mono clip fp', title: r.fingerprint, text: r.fingerprint }),
      h('td', { class: 'mono strong nowrap', text: r.remedy }),
      h('td', { class: 'num', text: r.attempts }),
      h('td', { class: 'num', text: r.successes }),
      h('td', null, h('span', { class: 'rate', 'data-tone': rateTone(r.success_rate) },
        meter(r.success_rate),
        h('span', { text: fmtPct(r.success_rate, 0) }))),
      h('td', { class: 'num', text: fmtMs(r.mean_recover_ms) })));
    $('#learning-body').replaceChildren(h('table', { class: 'tbl learning' },
      h('thead', null, h('tr', null, ['Fingerprint', 'Remedy', 'Attempts', 'Successes', 'Success rate', 'Mean recovery']
        .map((t, i) => h('th', { class: i === 2 || i === 3 || i === 5 ? 'num' : null, text: t })))),
      h('tbody', null, rows)));
  }

  const BODY = {
    components: '#targets-body', approvals: '#approvals-body', incidents: '#incidents-body', detail: '#detail-body',
    recovery: '#recovery-body', breakers: '#breakers-body', maintenance: '#maintenance-body',
    learning: '#learning-body',
  };
  const RENDER = {
    health: renderHealth, monitoring: renderCounters, components: renderTargets,
    approvals: renderApprovals, incidents: renderIncidents, detail: renderDetail,
    recovery: renderRecovery, breakers: renderBreakers, maintenance: renderMaintenance,
    learning: renderLearning,
  };

  // ---------------------------------------------------------------- event stream
  // Minimal text/event-stream parser (fetch streaming, because EventSource
  // cannot send the X-API-Key header). Handles chunks split mid-line.
  function sseParser(dispatch) {
    let buf = '', type = '', data = [];
    return chunk => {
      buf += chunk;
      const lines = buf.split(/\r?\n/);
      buf = lines.pop(); // incomplete last line waits for the next chunk
      for (const line of lines) {
        if (line === '') { // blank line ends an event
          if (data.length) dispatch(type || 'message', data.join('\n'));
          type = ''; data = [];
          continue;
        }
        if (line[0] === ':') continue; // comment / keep-alive
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        let val = i < 0 ? '' : line.slice(i + 1);
        if (val[0] === ' ') val = val.slice(1);
        if (field === 'event') type = val;
        else if (field === 'data') data.push(val);
      }
    };
  }

  function onEvent(type, raw) {
    let d = null;
    try { d = JSON.parse(raw); } catch (_) { return; }
    state.lastEvent = Date.now();
    const sel = id => id != null && String(id) === state.selected;
    switch (type) {
      case 'probe': return onProbe(d);
      case 'target': return schedule('components', 'health', 'breakers');
      case 'incident':
        schedule('incidents', 'health', 'recovery', 'breakers', 'learning');
        if (sel(d && d.id)) schedule('detail');
        return;
      case 'timeline':
        schedule('incidents');
        if (sel(d && d.incident_id)) schedule('detail');
        return;
      case 'maintenance': return schedule('maintenance', 'components');
      case 'approval':
        schedule('approvals', 'incidents');
        if (sel(d && d.incident_id)) schedule('detail');
        return;
      default: return; // unknown event kinds are ignored, the poll catches up
    }
  }

  let streamGen = 0, streamCtl = null;
  function stopStream() {
    streamGen++;
    if (streamCtl) streamCtl.abort();
    setLive(false);
  }
  async function streamLoop() {
    const gen = ++streamGen;
    let backoff = 1000, first = true;
    const alive = () => gen === streamGen && state.authed;
    while (alive()) {
      const ctl = (streamCtl = new AbortController());
      let stall = 0, upSince = 0;
      const kick = () => { clearTimeout(stall); stall = setTimeout(() => ctl.abort(), STALL_MS); };
      const sentKey = state.key;
      try {
        const res = await fetch('/api/v1/events/stream', { headers: authHeaders({ Accept: 'text/event-stream' }),
          signal: ctl.signal, cache: 'no-store' });
        if (res.status === 401) { onUnauthorized(await errMessage(res), sentKey); return; }
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
        setLive(true);
        upSince = Date.now();
        if (!first) schedule(...ALL); // events were missed while we were away
        first = false;
        kick();
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        const feed = sseParser(onEvent);
        for (;;) {
          const { value, done } = await reader.read();
          if (done || !alive()) break;
          kick();
          feed(decoder.decode(value, { stream: true }));
        }
      } catch (_) {
        /* network error, abort or stall: fall through to reconnect */
      } finally {
        clearTimeout(stall);
      }
      if (!alive()) return;
      // Only a connection that lived a while earns a fast retry; one that the
      // server drops at once keeps backing off.
      if (upSince && Date.now() - upSince > 10000) backoff = 1000;
      // Exponential backoff with jitter so a restarted server is not stampeded.
      const wait = backoff + Math.random() * 500;
      backoff = Math.min(backoff * 2, 30000);
      setLive(false, 'reconnecting in ' + Math.ceil(wait / 1000) + 's');
      await new Promise(r => setTimeout(r, wait));
    }
  }

  // ---------------------------------------------------------------- auth & lifecycle
  let pollTimer = 0;
  function start() {
    state.authed = true;
    $('#login').hidden = true;
    $('#dashboard').hidden = false;
    $('#logout').hidden = !state.key;
    state.shown = {};
    for (const sel of Object.values(BODY)) if (sel !== '#detail-body') $(sel).replaceChildren(empty('Loading…'));
    refresh(ALL);
    clearInterval(pollTimer);
    pollTimer = setInterval(() => { if (!document.hidden) refresh(ALL); }, POLL_MS);
    streamLoop();
  }

  // Shown while signed out: stale status and counters would mislead a wall screen.
  function showLogin(errorText) {
    $('#dashboard').hidden = true;
    $('#logout').hidden = true;
    $('#banner').hidden = true;
    $('#issues').hidden = true;
    $('#counters').replaceChildren();
    $('#system-status').replaceChildren(badge('unknown', 'big'), h('span', { class: 'sys-msg', text: 'API key required' }));
    document.title = 'medic';
    setLive(false);
    const err = $('#login-error');
    err.textContent = errorText || '';
    err.hidden = !errorText;
    $('#login').hidden = false;
    $('#api-key').focus();
  }

  // sentKey: the key that request carried. Parallel requests all 401 together;
  // only the first (still the current key) may reset the form and its message.
  function onUnauthorized(msg, sentKey) {
    if (sentKey !== state.key) return;
    if (!sentKey && !state.authed && !$('#login').hidden) return; // already asking
    // The first anonymous probe gets the plain prompt; any other 401 explains itself.
    const explain = !!sentKey || state.authed;
    if (state.authed) { state.authed = false; stopStream(); clearInterval(pollTimer); }
    // A rejected key is useless: forget it so a reload does not retry it.
    sessionStorage.removeItem(KEY_STORE);
    state.key = '';
    showLogin(explain ? msg : '');
  }

  async function login(ev) {
    ev.preventDefault();
    const key = $('#api-key').value.trim();
    if (!key) return;
    const btn = $('#api-key-save');
    btn.disabled = true;
    state.key = key;
    try {
      await api('/api/v1/health');
      sessionStorage.setItem(KEY_STORE, key);
      $('#api-key').value = '';
      start();
    } catch (e) {
      if (!(e instanceof AuthError)) {
        const err = $('#login-error');
        err.textContent = 'Could not reach medic: ' + e.message;
        err.hidden = false;
      }
    } finally {
      btn.disabled = false;
    }
  }

  function logout() {
    sessionStorage.removeItem(KEY_STORE);
    state.key = '';
    state.authed = false;
    stopStream();
    clearInterval(pollTimer);
    showLogin('');
  }

  // POST an action, keep the card's buttons disabled meanwhile, then refresh.
  async function post(btn, path, what, after) {
    const group = btn.closest('[data-approval], .btns') || btn;
    const buttons = [...new Set([...group.querySelectorAll('button'), btn])].map(b => [b, b.disabled]);
    buttons.forEach(([b]) => { b.disabled = true; });
    try {
      await api(path, 'POST');
    } catch (e) {
      if (!(e instanceof AuthError)) showBanner(what + ' failed: ' + e.message, 10000);
    }
    await refresh(after);
    // Usually the panel was re-rendered; if not (unchanged data), restore the buttons.
    buttons.forEach(([b, was]) => { b.disabled = was; });
  }

  // ---------------------------------------------------------------- theme
  function currentTheme() {
    return document.documentElement.dataset.theme ||
      (matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark');
  }
  function applyTheme(theme) {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
    const next = currentTheme() === 'dark' ? 'light' : 'dark';
    const btn = $('#theme-toggle');
    btn.textContent = next === 'light' ? '☀ Light' : '☾ Dark';
    btn.setAttribute('aria-label', 'Switch to ' + next + ' theme');
  }

  // ---------------------------------------------------------------- wiring
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll('[data-ago]')) el.textContent = ago(el.dataset.ago, now);
    for (const el of document.querySelectorAll('[data-expires]')) {
      el.textContent = countdown(el.dataset.expires, now);
      const left = Date.parse(el.dataset.expires) - now;
      el.classList.toggle('urgent', left < 60000);
    }
    $('#clock').textContent = new Date(now).toLocaleTimeString([], { hour12: false });
    $('#updated').textContent = state.authed && state.lastUpdate ? 'updated ' + fmtDur(now - state.lastUpdate) + ' ago' : '';
    if (state.lastEvent) $('#live').title = 'Live event stream · last event ' + fmtDur(now - state.lastEvent) + ' ago';
  }

  function wire() {
    $('#login').addEventListener('submit', login);
    $('#logout').addEventListener('click', logout);
    $('#banner-close').addEventListener('click', () => { bannerHoldUntil = 0; $('#banner').hidden = true; });
    $('#theme-toggle').addEventListener('click', () => {
      const next = currentTheme() === 'dark' ? 'light' : 'dark';
      localStorage.setItem(THEME_STORE, next);
      applyTheme(next);
    });
    // One delegated handler: rows and buttons are re-created on every render.
    document.addEventListener('click', e => {
      const t = e.target.closest('button, tr[data-incident]');
      if (!t || t.disabled) return;
      const d = t.dataset;
      if (d.approve) post(t, '/api/v1/approvals/' + q(d.approve) + '/approve', 'Approve', ['approvals', 'incidents', 'detail']);
      else if (d.reject) post(t, '/api/v1/approvals/' + q(d.reject) + '/reject', 'Reject', ['approvals', 'incidents', 'detail']);
      else if (d.ack) post(t, '/api/v1/incidents/' + q(d.ack) + '/ack', 'Ack', ['incidents', 'detail']);
      else if (d.resolve) post(t, '/api/v1/incidents/' + q(d.resolve) + '/resolve', 'Resolve', ['incidents', 'detail', 'health']);
      else if (d.openIncident) select(d.openIncident);
      else if ('closeDetail' in d) select(null);
      else if (d.incident) select(d.incident);
    });
    document.addEventListener('keydown', e => {
      const el = e.target instanceof Element ? e.target : document.body;
      const tr = el.closest('tr[data-incident]');
      if (tr && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); select(tr.dataset.incident); }
      else if (e.key === 'Escape' && state.selected != null && !el.closest('input')) select(null);
    });
    document.addEventListener('visibilitychange', () => { if (!document.hidden) refresh(ALL); });
    matchMedia('(prefers-color-scheme: light)').addEventListener('change', () => applyTheme(document.documentElement.dataset.theme));
  }

  async function boot() {
    // ?theme=light|dark overrides for this load only (screenshots, kiosks).
    const forced = new URLSearchParams(location.search).get('theme');
    applyTheme(forced === 'light' || forced === 'dark' ? forced : localStorage.getItem(THEME_STORE));
    wire();
    tick();
    setInterval(tick, 1000);
    const m = /^#incident=(.+)$/.exec(location.hash);
    if (m) state.selected = decodeURIComponent(m[1]);
    renderDetail(null);
    // Without a stored key this probes for dev mode (no keys configured).
    try {
      await api('/api/v1/health');
      start();
    } catch (e) {
      if (e instanceof AuthError) return; // login form is showing
      start(); // server down or erroring: show the dashboard with the error banner
      showBanner('medic unreachable: ' + e.message);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
