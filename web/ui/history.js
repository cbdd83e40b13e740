// history.js: what this node has seen over time, from its history store
// (/api/history/…): uptime per node over 24 h, 7 d and 30 d, a status
// strip per node (like a heartbeat bar), "offline since … for …", RTT
// charts per node and per link with a range choice, and the outages with
// their lengths. Charts are plain SVG: no library, no build step.

import { h, s } from './dom.js';
import { morphPage } from './page.js';
import { networks, fmtRTT, fmtClock as fmtTime, storeTrouble } from './model.js';
import { emptyState, statusText } from './components.js';

const RANGES = ['1h', '24h', '7d', '30d'];
const BARS = 48;
const REFRESH_MS = 30000;
// A bar shows the worst state that touched it; no data only when nothing else did.
const RANK = { down: 4, degraded: 3, up: 2, left: 1, no_data: 0 };
const STATE_LABEL = { up: 'up', degraded: 'degraded', down: 'down', left: 'left', no_data: 'no data' };

/**
 * strip cuts a timeline (segments covering [from, to]) into n bars and
 * gives each the worst state that touched it. Pure, for the status strip.
 */
export function strip(segments, from, to, n) {
  const t0 = Date.parse(from);
  const t1 = Date.parse(to);
  const w = (t1 - t0) / n;
  const bars = [];
  for (let i = 0; i < n; i++) bars.push({ start: t0 + i * w, end: t0 + (i + 1) * w, state: 'no_data', ms: {} });
  if (!(w > 0)) return bars;
  for (const sg of segments || []) {
    const a = Date.parse(sg.start);
    const b = Date.parse(sg.end);
    const first = Math.max(0, Math.floor((a - t0) / w));
    const last = Math.min(n - 1, Math.ceil((b - t0) / w) - 1);
    for (let i = first; i <= last; i++) {
      const bar = bars[i];
      const overlap = Math.min(b, bar.end) - Math.max(a, bar.start);
      if (overlap <= 0) continue;
      bar.ms[sg.state] = (bar.ms[sg.state] || 0) + overlap;
      if (RANK[sg.state] > RANK[bar.state]) bar.state = sg.state;
    }
  }
  return bars;
}

/** fmtDuration formats ms as "45 s", "12 min", "3 h 5 min", "2 d 4 h". */
export function fmtDuration(ms) {
  if (ms == null || ms < 0) return '—';
  const m = Math.floor(ms / 60000);
  if (m < 1) return Math.round(ms / 1000) + ' s';
  if (m < 60) return m + ' min';
  const hrs = Math.floor(m / 60);
  if (hrs < 48) return hrs + ' h' + (m % 60 ? ' ' + (m % 60) + ' min' : '');
  return Math.floor(hrs / 24) + ' d' + (hrs % 24 ? ' ' + (hrs % 24) + ' h' : '');
}

/** fmtPct formats an uptime percentage; null is "no data". */
export function fmtPct(p) {
  if (p == null) return 'no data';
  if (p === 100) return '100%';
  return (Math.floor(p * 100) / 100).toFixed(2) + '%';
}

const enc = encodeURIComponent;

export function historyPage(ctx) {
  let data = null; // the latest load, for the selection it was made for
  let failed = '';
  let gen = 0;
  let timer = 0;

  function selection(state) {
    const q = ctx.route.query;
    const nets = networks(state.view).map((n) => n.network_id);
    const range = RANGES.includes(q.get('range')) ? q.get('range') : '24h';
    return { network: q.get('network') || nets[0] || '', range, node: q.get('node') || '', peer: q.get('peer') || '' };
  }
  const key = (sel) => [sel.network, sel.range, sel.node, sel.peer].join('|');

  async function load() {
    clearTimeout(timer);
    const sel = selection(ctx.store.state);
    const my = ++gen;
    if (!sel.network) {
      timer = setTimeout(load, 1000); // the first view is not in yet
      return;
    }
    const get = ctx.store.getJSON;
    const base = '/api/history/' + enc(sel.network);
    try {
      const health = await get('/api/health');
      const hist = health.history || { state: 'unavailable', error: 'this node does not keep history' };
      if (hist.state === 'unavailable') {
        if (my !== gen) return;
        data = { key: key(sel), hist };
        failed = '';
        p.rerender();
        timer = setTimeout(load, REFRESH_MS); // the node retries its store: show history once it opens
        return;
      }
      const [uptime, outages] = await Promise.all([
        get(base + '/uptime'),
        get(base + '/outages?range=' + sel.range),
      ]);
      const nodes = {};
      await Promise.all(uptime.nodes.map(async (row) => {
        nodes[row.node] = await get(base + '/nodes/' + enc(row.node) + '?range=' + sel.range);
      }));
      let link = null;
      if (sel.node && sel.peer) link = await get(base + '/links/' + enc(sel.node) + '/' + enc(sel.peer) + '?range=' + sel.range);
      if (my !== gen) return;
      data = { key: key(sel), hist, uptime, outages, nodes, link };
      failed = '';
    } catch (e) {
      if (my !== gen) return;
      failed = String(e.message || e);
    }
    p.rerender();
    timer = setTimeout(load, REFRESH_MS);
  }

  const p = morphPage(ctx, {
    title: () => 'History',
    mount: () => setTimeout(load, 0),
    destroy: () => {
      clearTimeout(timer);
      gen++;
    },
    routeChanged: () => load(),
    render(state) {
      const sel = selection(state);
      const nets = networks(state.view).map((n) => n.network_id);
      const head = h('div', { class: 'page-head' }, h('h1', null, 'History'),
        h('form', { class: 'toolbar filters', 'aria-label': 'History range' },
          nets.length > 1 ? h('label', { class: 'field', for: 'hist-net' }, h('span', null, 'Network'),
            h('select', { id: 'hist-net', 'data-q': 'network' },
              nets.map((n) => h('option', { value: n, selected: n === sel.network }, n)))) : null,
          h('div', { class: 'seg', role: 'group', 'aria-label': 'Range', 'data-testid': 'hist-ranges' },
            RANGES.map((r) => h('button', { type: 'button', class: ['btn', r === sel.range && 'on'],
              'aria-pressed': String(r === sel.range), 'data-action': 'range', 'data-range': r }, r)))));
      if (failed && !data) return h('section', { class: 'history-page' }, head, h('p', { class: 'text-bad' }, 'Could not load history: ', failed));
      if (!data || data.key !== key(sel)) return h('section', { class: 'history-page' }, head, h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading history…'));
      const banner = storeBanner(data.hist);
      if (data.hist.state === 'unavailable') return h('section', { class: 'history-page' }, head, banner);
      return h('section', { class: 'history-page', 'data-testid': 'history' }, head, banner,
        failed ? h('p', { class: 'text-bad small' }, 'Refresh failed: ', failed) : null,
        uptimeTable(data, sel),
        sel.node ? detail(state, data, sel) : h('p', { class: 'muted small' }, 'Choose a node for its response times and links.'),
        outageList(data.outages, sel));
    },
    onAction(action, el) {
      const q = new URLSearchParams(ctx.route.query);
      if (action === 'range') q.set('range', el.getAttribute('data-range'));
      else if (action === 'node') {
        q.set('node', el.getAttribute('data-node'));
        q.delete('peer');
      } else if (action === 'peer') {
        const v = el.getAttribute('data-peer');
        if (v) q.set('peer', v);
        else q.delete('peer');
      } else return;
      ctx.setQuery(q, true);
    },
    onChange(el) {
      const k = el.getAttribute('data-q');
      if (!k) return;
      const q = new URLSearchParams({ [k]: el.value });
      ctx.setQuery(q, true);
    },
  });
  p.el.addEventListener('submit', (e) => e.preventDefault());
  return p;
}

function storeBanner(hist) {
  const tr = storeTrouble(hist);
  if (!tr) return null;
  return h('div', { class: 'hist-banner', role: 'status', 'data-testid': 'hist-store', 'data-state': tr.state },
    h('strong', null, tr.text), tr.detail ? h('p', { class: 'small' }, tr.detail) : null);
}

function sinceText(cur) {
  if (!cur) return null;
  const ms = Date.now() - Date.parse(cur.since);
  return h('span', { class: 'muted small', title: new Date(cur.since).toLocaleString() },
    (cur.since_session_start ? ' at least ' : ' ') + 'for ' + fmtDuration(ms) + ' (since ' + fmtTime(cur.since) + ')');
}

function statusStrip(hist, label) {
  const u = hist.uptime;
  const bars = strip(u.segments, u.from, u.to, BARS);
  const W = 4;
  const G = 1;
  return s('svg', { class: 'hist-strip', viewBox: `0 0 ${BARS * (W + G)} 20`, preserveAspectRatio: 'none',
    role: 'img', 'aria-label': label, 'data-testid': 'hist-strip' },
  bars.map((b, i) => s('rect', { x: i * (W + G), y: 0, width: W, height: 20, rx: 1, class: 'hs-' + b.state, 'data-state': b.state },
    s('title', null, `${new Date(b.start).toLocaleString()} – ${new Date(b.end).toLocaleTimeString()}: ${STATE_LABEL[b.state]}`))));
}

function uptimeTable(data, sel) {
  const rows = data.uptime.nodes;
  if (!rows.length) return emptyState('No members yet.');
  return h('div', { class: 'card hist-table-wrap' },
    h('table', { class: 'hist-table', 'data-testid': 'hist-uptime' },
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Node'), h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Last ' + sel.range), ['24h', '7d', '30d'].map((w) => h('th', { scope: 'col', class: 'num' }, w)))),
      h('tbody', null, rows.map((r) => {
        const hist = data.nodes[r.node];
        const cur = r.current;
        return h('tr', { 'data-key': r.node, 'data-node': r.node, class: r.node === sel.node && 'sel' },
          h('th', { scope: 'row' }, h('button', { type: 'button', class: 'linkish', 'data-action': 'node', 'data-node': r.node }, r.node)),
          h('td', null, cur ? statusText(cur.status) : h('span', { class: 'muted' }, 'no data'), sinceText(cur)),
          h('td', { class: 'strip-cell' }, hist ? statusStrip(hist, `${r.node} over the last ${sel.range}`) : null),
          ['24h', '7d', '30d'].map((w) => {
            const x = r.uptime[w];
            return h('td', { class: ['num', x && x.percent != null && x.percent < 99 && 'text-warn', x && x.percent != null && x.percent < 90 && 'text-bad'],
              'data-window': w, title: x ? `down ${fmtDuration(x.down_ms)}, no data ${fmtDuration(x.no_data_ms)}, ${x.outages} outage(s)` : '' },
            x ? fmtPct(x.percent) : '—');
          }));
      }))));
}

function detail(state, data, sel) {
  const hist = data.nodes[sel.node];
  if (!hist) return emptyState(`No history of ${sel.node}.`);
  const nv = (state.view && state.view.networks && state.view.networks[sel.network]) || null;
  const peers = nv ? (nv.connections || []).filter((c) => c.src === sel.node).map((c) => c.dst).sort() : [];
  const link = sel.peer && data.link;
  return h('section', { class: 'card hist-detail', 'data-testid': 'hist-detail' },
    h('h2', { class: 'card-title' }, sel.node, h('span', { class: 'muted small' }, ' · response time seen by its observers')),
    rttChart(hist.rtt, hist.uptime.from, hist.uptime.to, `RTT to ${sel.node}`),
    peers.length ? h('div', { class: 'hist-links' }, h('span', { class: 'muted small' }, 'Links from ' + sel.node + ': '),
      peers.map((d) => h('button', { type: 'button', class: ['btn', 'btn-small', d === sel.peer && 'on'],
        'aria-pressed': String(d === sel.peer), 'data-action': 'peer', 'data-peer': d === sel.peer ? '' : d }, '→ ' + d))) : null,
    link ? h('div', { class: 'hist-link', 'data-testid': 'hist-link' },
      h('h3', null, `${sel.node} → ${sel.peer}`, ' ', link.current ? h('span', { class: 'muted small' }, link.current.status, sinceText(link.current)) : null,
        ' ', h('span', { class: 'small' }, 'uptime ', fmtPct(link.uptime.percent))),
      statusStrip(link, `link ${sel.node} to ${sel.peer}`),
      rttChart(link.rtt, link.uptime.from, link.uptime.to, `RTT ${sel.node} → ${sel.peer}`)) : null);
}

/**
 * rttChart draws min–max as a band and the mean as a line over the range;
 * a gap longer than two rollups breaks the line.
 */
export function rttChart(rtt, from, to, label) {
  const pts = (rtt && rtt.points) || [];
  if (!pts.length) return h('p', { class: 'muted small', 'data-testid': 'hist-rtt-empty' }, 'No response times recorded in this range.');
  const W = 600;
  const H = 160;
  const P = 48;
  const t0 = Date.parse(from);
  const t1 = Date.parse(to);
  const step = rtt.resolution === 'hour' ? 3600000 : 60000;
  const top = Math.max(...pts.map((p) => p.max_ms)) * 1.1 || 1;
  const x = (t) => P + ((t - t0) / (t1 - t0)) * (W - P - 4);
  const y = (v) => H - 18 - (v / top) * (H - 28);
  const runs = [];
  let run = [];
  for (const p of pts) {
    const t = Date.parse(p.start) + step / 2;
    if (run.length && t - run[run.length - 1].t > 2 * step) {
      runs.push(run);
      run = [];
    }
    run.push({ t, p });
  }
  runs.push(run);
  const band = (r) => r.map((q) => `${x(q.t)},${y(q.p.max_ms)}`).concat(r.slice().reverse().map((q) => `${x(q.t)},${y(q.p.min_ms)}`)).join(' ');
  const line = (r) => r.map((q) => `${x(q.t)},${y(q.p.mean_ms)}`).join(' ');
  const mean = pts.reduce((a, p) => a + p.mean_ms * p.count, 0) / pts.reduce((a, p) => a + p.count, 0);
  return h('figure', { class: 'hist-rtt' },
    s('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${label}: mean ${fmtRTT(mean)}`, 'data-testid': 'hist-rtt', 'data-points': String(pts.length) },
      s('line', { x1: P, y1: y(0), x2: W - 4, y2: y(0), class: 'axis' }),
      s('text', { x: P - 4, y: y(top / 1.1) + 4, class: 'tick', 'text-anchor': 'end' }, fmtRTT(top / 1.1)),
      s('text', { x: P - 4, y: y(0) + 4, class: 'tick', 'text-anchor': 'end' }, '0'),
      s('text', { x: P, y: H - 2, class: 'tick' }, fmtTime(from)),
      s('text', { x: W - 4, y: H - 2, class: 'tick', 'text-anchor': 'end' }, fmtTime(to)),
      runs.map((r) => s('polygon', { points: band(r), class: 'band' })),
      runs.map((r) => (r.length > 1
        ? s('polyline', { points: line(r), class: 'mean' })
        : s('circle', { cx: x(r[0].t), cy: y(r[0].p.mean_ms), r: 2.5, class: 'mean-dot' })))),
    h('figcaption', { class: 'muted small' }, `${label}: mean ${fmtRTT(mean)}, per ${rtt.resolution}; the band is min–max.`));
}

function outageList(outages, sel) {
  const list = (outages && outages.outages) || [];
  return h('section', { class: 'hist-outages' },
    h('h2', { class: 'section-title' }, 'Outages', h('span', { class: 'muted small' }, ` · last ${sel.range}`)),
    list.length
      ? h('div', { class: 'hist-scroll' }, h('table', { class: 'hist-table', 'data-testid': 'hist-outages' },
        h('thead', null, h('tr', null, ['Node', 'Start', 'End', 'Duration'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, list.map((o) => h('tr', { 'data-key': o.node + '|' + o.start, 'data-node': o.node },
          h('td', null, o.node),
          h('td', null, h('time', { datetime: o.start }, fmtTime(o.start)), o.started_before_range ? h('span', { class: 'muted small' }, ' (or earlier)') : null),
          h('td', null, o.ongoing ? h('strong', { class: 'text-bad' }, 'ongoing')
            : [h('time', { datetime: o.end }, fmtTime(o.end)), o.end_unknown ? h('span', { class: 'muted small', title: 'this node stopped watching while it was down' }, ' (last seen down)') : null]),
          h('td', null, fmtDuration(o.duration_ms), o.ongoing ? h('span', { class: 'muted small' }, ' so far') : null))))))
      : h('p', { class: 'muted', 'data-testid': 'hist-no-outages' }, 'No outages in this range.'));
}


