// monitors.js: the Monitors screen. The external services every member
// probes (/api/monitors), as a vantage × monitor matrix grouped by the
// monitors' group: each cell is one member's latest result (up, warn,
// down, no result yet, or not live: its word does not count), each row
// the agreed verdict ("Partial" names who fails) and since when. Choosing
// a monitor opens its detail (/api/monitors/{network}/{name}): uptime
// over 24 h, 7 d and 30 d, a status strip, outages with their lengths and
// who saw them, and a response-time chart per vantage point, drawn with
// the History screen's charts.

import { h, s } from './dom.js';
import { morphPage } from './page.js';
import { fmtRTT, fmtClock, fmtAgo, fmtFull } from './model.js';
import { emptyState } from './components.js';
import { strip, fmtDuration, fmtPct, rttChart } from './history.js';

const RANGES = ['1h', '24h', '7d', '30d'];
const REFRESH_MS = 5000;
const DETAIL_REFRESH_MS = 30000;
const BARS = 48;

/** VERDICT_LABEL is how each agreed verdict is shown. */
export const VERDICT_LABEL = { up: 'Up', warning: 'Warning', degraded: 'Partial', down: 'Down', unknown: 'Unknown' };
const CELL_LABEL = { up: 'up', warn: 'warning', down: 'down', none: 'no result yet', notlive: 'not live', na: 'does not run it' };
const STRIP_LABEL = { up: 'up', degraded: 'partial', down: 'down', left: 'left', no_data: 'no data' };

/**
 * cellState is what a matrix cell shows for a vantage point's result, or
 * 'na' when the member does not run the monitor. Pure.
 */
export function cellState(v) {
  if (!v) return 'na';
  if (!v.live) return 'notlive';
  if (!v.has_result) return 'none';
  return v.state || 'none';
}

/**
 * vantageColumns is every member that runs one of the monitors, in the
 * order they first appear (config order). Pure.
 */
export function vantageColumns(monitors) {
  const cols = [];
  for (const m of monitors) for (const v of m.vantages || []) if (!cols.includes(v.node)) cols.push(v.node);
  return cols;
}

/** groups splits monitors by group, groups in order of first appearance. Pure. */
export function groups(monitors) {
  const out = new Map();
  for (const m of monitors) {
    const g = m.group || 'default';
    if (!out.has(g)) out.set(g, []);
    out.get(g).push(m);
  }
  return [...out.entries()].map(([name, list]) => ({ name, monitors: list }));
}

/** verdictText is the one-line explanation of a verdict. Pure. */
export function verdictText(v) {
  const f = v.failing || [];
  const w = v.warning || [];
  switch (v.status) {
    case 'down': return `down from ${f.length}/${v.live}: ${f.join(', ')}`;
    case 'degraded': return `fails from ${f.join(', ')} only (${f.length}/${v.live}); not alerted`;
    case 'warning': return `warns from ${w.join(', ')} (${w.length}/${v.live})`;
    case 'up': return `up from ${v.live}/${v.live}`;
    default: return 'no live vantage point has a result yet';
  }
}

const enc = encodeURIComponent;

export function monitorsPage(ctx) {
  let list = null; // /api/monitors
  let detail = null; // {key, body}
  let failed = '';
  let detailFailed = '';
  let timer = 0;
  let gen = 0;
  let detailGen = 0;
  let picked = ''; // the clicked cell: monitor|node

  function selection() {
    const q = ctx.route.query;
    const nets = list ? list.networks.map((n) => n.network) : [];
    const range = RANGES.includes(q.get('range')) ? q.get('range') : '24h';
    return { network: q.get('network') || nets.find((n) => (list.networks.find((x) => x.network === n).monitors || []).length) || nets[0] || '',
      range, monitor: q.get('monitor') || '' };
  }
  const detailKey = (sel) => [sel.network, sel.monitor, sel.range].join('|');

  async function load() {
    clearTimeout(timer);
    const my = ++gen;
    if (!ctx.store.state.hidden) {
      try {
        const body = await ctx.store.getJSON('/api/monitors');
        if (my !== gen) return;
        list = body;
        failed = '';
      } catch (e) {
        if (my !== gen) return;
        failed = String(e.message || e);
      }
      p.rerender();
      loadDetail(false);
    }
    timer = setTimeout(load, REFRESH_MS);
  }

  async function loadDetail(force) {
    const sel = selection();
    if (!sel.monitor || !list) return;
    const net = list.networks.find((n) => n.network === sel.network);
    if (!net || !net.monitors.some((m) => m.name === sel.monitor)) return; // no such monitor: said in the page
    const key = detailKey(sel);
    if (!force && detail && detail.key === key && Date.now() - detail.at < DETAIL_REFRESH_MS) return;
    const my = ++detailGen;
    try {
      const body = await ctx.store.getJSON('/api/monitors/' + enc(sel.network) + '/' + enc(sel.monitor) + '?range=' + sel.range);
      if (my !== detailGen) return;
      detail = { key, at: Date.now(), body };
      detailFailed = '';
    } catch (e) {
      if (my !== detailGen) return;
      detailFailed = String(e.message || e);
    }
    p.rerender();
  }

  const p = morphPage(ctx, {
    title: () => 'Monitors',
    mount: () => setTimeout(load, 0),
    destroy: () => {
      clearTimeout(timer);
      gen++;
      detailGen++;
    },
    routeChanged: () => loadDetail(true),
    render() {
      const sel = selection();
      const nets = list ? list.networks.map((n) => n.network) : [];
      const head = h('div', { class: 'page-head' }, h('h1', null, 'Monitors'),
        h('form', { class: 'toolbar filters', 'aria-label': 'Monitors' },
          nets.length > 1 ? h('label', { class: 'field', for: 'mon-net' }, h('span', null, 'Network'),
            h('select', { id: 'mon-net', 'data-q': 'network' },
              nets.map((n) => h('option', { value: n, selected: n === sel.network }, n)))) : null));
      if (!list) {
        return h('section', { class: 'monitors-page' }, head, failed
          ? h('p', { class: 'text-bad' }, 'Could not load the monitors: ', failed)
          : h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading monitors…'));
      }
      const net = list.networks.find((n) => n.network === sel.network);
      const monitors = (net && net.monitors) || [];
      if (!monitors.length) {
        return h('section', { class: 'monitors-page', 'data-testid': 'monitors' }, head,
          emptyState('No monitors' + (sel.network ? ' in ' + sel.network : '') + '.',
            'Add a monitors: list to the network’s config.yml: every member then probes each service, and they agree on one verdict (docs/monitors.md).'));
      }
      return h('section', { class: 'monitors-page', 'data-testid': 'monitors' }, head,
        failed ? h('p', { class: 'text-bad small' }, 'Refresh failed: ', failed) : null,
        summary(monitors),
        matrix(sel, monitors, picked),
        pickedInfo(monitors, picked),
        sel.monitor ? detailPanel(sel, monitors, detail && detail.key === detailKey(sel) ? detail.body : null, detailFailed)
          : h('p', { class: 'muted small' }, 'Choose a monitor for its uptime, outages and response times.'));
    },
    onAction(action, el) {
      const q = new URLSearchParams(ctx.route.query);
      if (action === 'cell') {
        const k = el.getAttribute('data-monitor') + '|' + el.getAttribute('data-node');
        picked = picked === k ? '' : k;
        p.rerender();
        return;
      }
      if (action === 'monitor') {
        const m = el.getAttribute('data-monitor');
        if (q.get('monitor') === m) q.delete('monitor');
        else q.set('monitor', m);
      } else if (action === 'range') q.set('range', el.getAttribute('data-range'));
      else return;
      if (list && !q.get('network')) q.set('network', selection().network);
      ctx.setQuery(q, true);
    },
    onChange(el) {
      const k = el.getAttribute('data-q');
      if (!k) return;
      picked = '';
      ctx.setQuery(new URLSearchParams({ [k]: el.value }), true);
    },
  });
  p.el.addEventListener('submit', (e) => e.preventDefault());
  return p;
}

function summary(monitors) {
  const n = { up: 0, warning: 0, degraded: 0, down: 0, unknown: 0 };
  for (const m of monitors) n[m.verdict.status] = (n[m.verdict.status] || 0) + 1;
  return h('p', { class: 'mon-summary', 'data-testid': 'mon-summary' },
    ['down', 'degraded', 'warning', 'up', 'unknown'].filter((k) => n[k]).map((k) =>
      h('span', { class: ['badge', 'mv-badge', 'mv-' + k], 'data-status': k }, `${n[k]} ${VERDICT_LABEL[k].toLowerCase()}`)));
}

function verdictBadge(v) {
  return h('span', { class: ['badge', 'mv-badge', 'mv-' + v.status], 'data-testid': 'mon-verdict', 'data-status': v.status,
    title: verdictText(v) }, VERDICT_LABEL[v.status] || v.status);
}

function sinceCell(m) {
  const at = Date.parse(m.since);
  if (!at) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: m.since, title: fmtFull(m.since), class: 'small' },
    'since ' + fmtClock(m.since), h('span', { class: 'muted' }, ' · for ' + fmtAgo(Math.max(0, Date.now() - at))));
}

function cellTitle(m, node, v) {
  const st = cellState(v);
  const parts = [`${node} → ${m.name}: ${CELL_LABEL[st]}`];
  if (v && v.has_result) {
    if (v.latency_ms > 0) parts.push(fmtRTT(v.latency_ms));
    if (v.reason) parts.push(v.reason);
    if (v.at) parts.push('at ' + fmtClock(v.at));
    if (v.since) parts.push('since ' + fmtClock(v.since));
  }
  if (v && !v.live) parts.push('its word does not count while it is not online');
  return parts.join(' · ');
}

function matrix(sel, monitors, picked) {
  const cols = vantageColumns(monitors);
  return h('div', { class: 'card mon-wrap' },
    h('table', { class: 'mon-matrix', 'data-testid': 'mon-matrix' },
      h('caption', { class: 'sr-only' }, 'Each monitor’s agreed verdict and each member’s latest result'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Monitor'), h('th', { scope: 'col' }, 'Verdict'), h('th', { scope: 'col' }, 'Since'),
        cols.map((c) => h('th', { scope: 'col', class: 'mon-col', 'data-node': c }, c)))),
      groups(monitors).map((g) => h('tbody', { 'data-key': 'g|' + g.name, 'data-group': g.name },
        h('tr', { class: 'mon-group' }, h('th', { scope: 'rowgroup', colspan: String(3 + cols.length) }, g.name)),
        g.monitors.map((m) => {
          const byNode = new Map((m.vantages || []).map((v) => [v.node, v]));
          return h('tr', { 'data-key': m.name, 'data-monitor': m.name, 'data-status': m.verdict.status, class: m.name === sel.monitor && 'sel' },
            h('th', { scope: 'row' }, h('button', { type: 'button', class: 'linkish', 'data-action': 'monitor', 'data-monitor': m.name,
              'aria-pressed': String(m.name === sel.monitor) }, m.name),
            h('div', { class: 'muted small mon-target' }, m.type + ' · ' + m.target)),
            h('td', null, verdictBadge(m.verdict),
              m.verdict.status === 'degraded' || m.verdict.status === 'down'
                ? h('div', { class: 'small mon-failing', 'data-testid': 'mon-failing' }, (m.verdict.status === 'down' ? 'down from ' : 'fails from ') + m.verdict.failing.join(', '))
                : m.verdict.status === 'warning' ? h('div', { class: 'small muted' }, 'warns from ' + m.verdict.warning.join(', ')) : null),
            h('td', null, sinceCell(m)),
            cols.map((c) => {
              const v = byNode.get(c);
              const st = cellState(v);
              if (st === 'na') return h('td', { class: 'mon-cell', 'data-node': c, 'data-state': 'na' }, h('span', { class: 'muted small', title: `${c} does not run ${m.name}` }, '·'));
              const k = m.name + '|' + c;
              return h('td', { class: 'mon-cell', 'data-node': c, 'data-state': st },
                h('button', { type: 'button', class: ['mv-cell', 'mc-' + st, picked === k && 'on'], 'data-action': 'cell', 'data-monitor': m.name, 'data-node': c,
                  'aria-pressed': String(picked === k), title: cellTitle(m, c, v), 'aria-label': cellTitle(m, c, v) },
                h('span', { class: 'mc-mark', 'aria-hidden': 'true' }),
                v.has_result && v.latency_ms > 0 ? fmtRTT(v.latency_ms) : h('span', { class: 'muted' }, st === 'notlive' ? 'not live' : '—')));
            }));
        })))));
}

function pickedInfo(monitors, picked) {
  if (!picked) return null;
  const [name, node] = picked.split('|');
  const m = monitors.find((x) => x.name === name);
  const v = m && (m.vantages || []).find((x) => x.node === node);
  if (!v) return null;
  return h('div', { class: 'card mon-picked', 'data-testid': 'mon-picked', role: 'status' },
    h('strong', null, `${node} → ${name}: `), CELL_LABEL[cellState(v)],
    v.has_result && v.latency_ms > 0 ? ' · ' + fmtRTT(v.latency_ms) : null,
    v.reason ? [' · ', h('span', { 'data-testid': 'mon-reason' }, v.reason)] : null,
    v.at ? ' · probed ' + fmtClock(v.at) : null,
    v.since ? ' · in this state since ' + fmtClock(v.since) : null,
    !v.live ? h('div', { class: 'muted small' }, `${node} is not online in the agreed view: its result does not count.`) : null);
}

function detailPanel(sel, monitors, body, err) {
  const m = monitors.find((x) => x.name === sel.monitor);
  if (!m) return emptyState(`No monitor called ${sel.monitor} in ${sel.network}.`);
  const head = h('div', { class: 'mon-detail-head' },
    h('h2', { class: 'card-title' }, m.name, ' ', verdictBadge(m.verdict)),
    h('p', { class: 'muted small' }, `${m.type} · ${m.target} · every ${fmtDuration(m.interval_ms)} · ${verdictText(m.verdict)}`),
    h('div', { class: 'seg', role: 'group', 'aria-label': 'Range', 'data-testid': 'mon-ranges' },
      RANGES.map((r) => h('button', { type: 'button', class: ['btn', 'btn-small', r === sel.range && 'on'],
        'aria-pressed': String(r === sel.range), 'data-action': 'range', 'data-range': r }, r))));
  if (!body) {
    return h('section', { class: 'card mon-detail', 'data-testid': 'mon-detail' }, head,
      err ? h('p', { class: 'text-bad' }, 'Could not load its history: ', err) : h('p', { class: 'muted', 'aria-busy': 'true' }, 'Loading history…'));
  }
  const hist = body.history;
  if (!hist) {
    return h('section', { class: 'card mon-detail', 'data-testid': 'mon-detail' }, head,
      h('div', { class: 'hist-banner', role: 'status', 'data-testid': 'mon-no-history' },
        h('strong', null, 'This node keeps no history: no uptime or response times.'), h('p', { class: 'small' }, body.history_error || '')));
  }
  return h('section', { class: 'card mon-detail', 'data-testid': 'mon-detail' }, head,
    h('div', { class: 'mon-uptime', 'data-testid': 'mon-uptime' }, ['24h', '7d', '30d'].map((w) => {
      const x = hist.uptime[w];
      return h('div', { class: 'stat', 'data-window': w, title: x ? `down ${fmtDuration(x.down_ms)}, partial ${fmtDuration(x.degraded_ms)}, no data ${fmtDuration(x.no_data_ms)}, ${x.outages} outage(s)` : '' },
        h('div', { class: 'stat-label' }, 'Uptime ' + w), h('div', { class: 'stat-value' }, x ? fmtPct(x.percent) : '—'));
    })),
    statusStrip(hist, `${m.name} over the last ${sel.range}`),
    h('h3', null, 'Response time per vantage point'),
    h('div', { class: 'mon-charts' }, hist.latency.vantages.map((lv) => h('div', { class: 'mon-chart', 'data-key': lv.node, 'data-node': lv.node },
      h('h4', null, lv.node), rttChart({ resolution: hist.latency.resolution, points: lv.points }, hist.from, hist.to, `${lv.node} → ${m.name}`)))),
    outages(hist, sel));
}

function statusStrip(hist, label) {
  const bars = strip(hist.segments, hist.from, hist.to, BARS);
  const W = 4;
  const G = 1;
  return s('svg', { class: 'hist-strip', viewBox: `0 0 ${BARS * (W + G)} 20`, preserveAspectRatio: 'none',
    role: 'img', 'aria-label': label, 'data-testid': 'mon-strip' },
  bars.map((b, i) => s('rect', { x: i * (W + G), y: 0, width: W, height: 20, rx: 1, class: 'hs-' + b.state, 'data-state': b.state },
    s('title', null, `${new Date(b.start).toLocaleString()} – ${new Date(b.end).toLocaleTimeString()}: ${STRIP_LABEL[b.state]}`))));
}

function outages(hist, sel) {
  const list = hist.outages || [];
  return h('section', { class: 'hist-outages' },
    h('h3', null, 'Outages', h('span', { class: 'muted small' }, ` · last ${sel.range}`)),
    list.length
      ? h('div', { class: 'hist-scroll' }, h('table', { class: 'hist-table', 'data-testid': 'mon-outages' },
        h('thead', null, h('tr', null, ['Start', 'End', 'Duration', 'Down from'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, list.map((o) => h('tr', { 'data-key': o.start },
          h('td', null, h('time', { datetime: o.start }, fmtClock(o.start)), o.started_before_range ? h('span', { class: 'muted small' }, ' (or earlier)') : null),
          h('td', null, o.ongoing ? h('strong', { class: 'text-bad' }, 'ongoing')
            : [h('time', { datetime: o.end }, fmtClock(o.end)), o.end_unknown ? h('span', { class: 'muted small', title: 'this node stopped watching while it was down' }, ' (last seen down)') : null]),
          h('td', { 'data-testid': 'mon-outage-duration' }, fmtDuration(o.duration_ms), o.ongoing ? h('span', { class: 'muted small' }, ' so far') : null),
          h('td', null, (o.failing || []).join(', ') || '—'))))))
      : h('p', { class: 'muted', 'data-testid': 'mon-no-outages' }, 'No outages in this range.'));
}
