// components.js: small pieces the screens share.

import { h } from './dom.js';
import { STATUS_LABEL, HEALTH_LABEL, HEALTH_HELP, fmtAgo, fmtWhen, fmtFull, tentative, whoSays, counted, statusSince, fmtClock, heardAt, isLive } from './model.js';

/** dot is a status dot, its colour and shape per status; the status is also in text for screen readers. */
export function dot(status, tent = false) {
  return h('span', { class: ['dot', 'st-' + status, tent && 'tentative'], 'aria-hidden': 'true' });
}

/** statusText is the dot and the word, e.g. "● Online". */
export function statusText(status) {
  return h('span', { class: ['status', 'st-' + status], 'data-status': status },
    dot(status), STATUS_LABEL[status] || status);
}

/**
 * nodeStatus is a member's status as the word, or, when it is only an
 * opinion (model.tentative), muted as "Offline?" with who says so.
 */
export function nodeStatus(n) {
  const t = tentative(n);
  if (!t) return statusText(n.status);
  const who = whoSays(t.by);
  const title = t.why === 'single' ? `Only ${who} suspects ${n.node_id}; the other observers reach it`
    : `Not confirmed: only ${who} ${t.by.length > 1 ? 'say' : 'says'} so (fewer than 2 live observers)`;
  return h('span', { class: ['status', 'st-' + n.status, 'tentative'], 'data-status': n.status, 'data-tentative': 'true', title },
    dot(n.status, true), (STATUS_LABEL[n.status] || n.status) + '?',
    h('span', { class: 'tent-by' }, t.by.length ? ' by ' + who : ' unconfirmed'));
}

/** healthBadge is the Healthy / Impaired / Critical badge of a network. */
export function healthBadge(health) {
  return h('span', { class: ['badge', 'health-' + health], 'data-health': health, 'data-testid': 'health', title: HEALTH_HELP[health] || null },
    HEALTH_LABEL[health] || health);
}

/** severityBadge is an info / warning / error chip. */
export function severityBadge(sev) {
  return h('span', { class: ['badge', 'sev-' + sev] }, sev);
}

/** stat is one stat card. */
export function stat(label, value, { tone = '', testid = '', sub = '' } = {}) {
  return h('div', { class: ['stat', tone && 'tone-' + tone], 'data-testid': testid || null },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value' }, value),
    sub ? h('div', { class: 'stat-sub' }, sub) : null);
}

/** emptyState is a friendly "nothing here" box. */
export function emptyState(title, ...body) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), ...body.map((b) => h('p', null, b)));
}

/** loading is shown until the first view arrives. */
export function loading(what = 'Loading…') {
  return h('div', { class: 'empty', 'aria-busy': 'true' }, h('p', { class: 'empty-title' }, what));
}

/** updated says how fresh the data is: when the node last answered. */
export function updated(state) {
  if (!state.lastContact) return '';
  const ago = Date.now() - state.lastContact;
  return state.stale ? 'stale: no answer for ' + fmtAgo(ago) : ago < 1000 ? 'up to date' : 'checked ' + fmtAgo(ago) + ' ago';
}

/** chevron is the expand arrow of a row. */
export function chevron() {
  return h('span', { class: 'chev', 'aria-hidden': 'true' });
}

/** domID turns arbitrary text into something safe for an id attribute. */
export function domID(...parts) {
  return parts.map((p) => String(p).replace(/[^A-Za-z0-9_-]/g, (c) => '_' + c.charCodeAt(0).toString(16))).join('--');
}

/**
 * when is a time as the dashboard shows every time: relative ("3 min
 * ago") when today, with the date when not, and the full local date,
 * time and zone on hover.
 */
export function when(t, prefix = '') {
  const d = t instanceof Date ? t : new Date(t);
  if (isNaN(d)) return h('span', { class: 'muted' }, 'unknown');
  return h('time', { class: 'when', datetime: d.toISOString(), title: fmtFull(d) }, prefix + fmtWhen(d));
}

/**
 * rowList is a list of expandable rows with column headers. Each row is a
 * button (aria-expanded) and a detail panel rendered only while open.
 * rows: [{key, node, status, open, cells: [...], detail: () => Node}].
 */
export function rowList({ label, head, rows, cls, testid }) {
  return h('div', { class: ['rows', cls], 'data-testid': testid || null },
    h('div', { class: 'rows-head', 'aria-hidden': 'true' }, head.map((x, i) => h('span', { class: 'c c' + i }, x)), h('span')),
    h('ul', { class: 'rows-list', 'aria-label': label },
      rows.map((r) => {
        const detailID = domID('detail', r.key);
        return h('li', { class: ['row', r.open && 'open'], 'data-key': r.key, 'data-node': r.node, 'data-status': r.status },
          h('button', {
            type: 'button', class: 'row-main', 'aria-expanded': r.open ? 'true' : 'false',
            'aria-controls': detailID, 'data-action': 'toggle', 'data-id': r.key,
          },
          r.cells.map((c, i) => h('span', { class: 'c c' + i, 'data-label': i > 0 ? head[i] : null }, c)),
          chevron()),
          h('div', { class: 'row-detail', id: detailID, hidden: !r.open }, r.open ? r.detail() : null));
      })));
}

/**
 * problemList shows the active problems, each linking to its network;
 * notes (unconfirmed or single-observer opinions) come last, muted.
 */
export function problemList(problems, { limit = 8 } = {}) {
  const shown = problems.slice(0, limit);
  const real = counted(problems).length;
  return h('section', { class: ['card', 'problems', !real && 'only-notes'], 'aria-labelledby': 'problems-h', 'data-testid': 'problem-list' },
    h('h2', { id: 'problems-h', class: 'card-title' }, real ? 'Active problems' : 'Unconfirmed reports'),
    h('ul', { class: 'problem-items' },
      shown.map((p, i) => h('li', { class: ['problem', 'sev-' + p.severity], 'data-key': p.net + '|' + p.text + '|' + i, 'data-severity': p.severity },
        severityBadge(p.severity === 'note' ? 'unconfirmed' : p.severity),
        h('a', { href: '/networks/' + encodeURIComponent(p.net) + (p.node ? '?node=' + encodeURIComponent(p.node) : '') }, p.text),
        h('span', { class: 'muted small' }, p.net)))),
    problems.length > limit ? h('p', { class: 'muted small' }, `and ${problems.length - limit} more`) : null);
}

/**
 * filterBox is a search field whose value lives in the URL (?q=): pages
 * listen for its input events (data-filter="q").
 */
export function filterBox(id, value, label, placeholder) {
  return h('label', { class: 'field filter', for: id }, h('span', null, label),
    h('input', {
      type: 'search', id, name: 'q', value: value || '', placeholder, autocomplete: 'off', spellcheck: 'false',
      'data-filter': 'q', 'data-testid': 'filter',
    }));
}

/** onFilterInput keeps ?q= in the URL in step with a page's filter box. */
export function onFilterInput(page, ctx) {
  page.el.addEventListener('input', (e) => {
    if (e.target.getAttribute('data-filter') !== 'q') return;
    const q = new URLSearchParams(ctx.route.query);
    if (e.target.value) q.set('q', e.target.value);
    else q.delete('q');
    ctx.setQuery(q);
    page.rerender();
  });
}

/**
 * since is "since 16:51:54 · for 3 min" for a member that is not online
 * (the time with its date when not today, the full date and zone on
 * hover), or null for an online one.
 */
export function since(state, net, n) {
  if (n.status === 'online') return null;
  const s = statusSince(state, net, n);
  const at = new Date(s.at);
  const label = s.how === 'heard' ? 'last heard ' : s.how === 'before' ? 'since before ' : 'since ';
  const title = (s.how === 'heard' ? `${n.node_id} was last heard ` : s.how === 'before' ? 'This page opened ' : `${n.node_id} has been ${n.status} since `) + fmtFull(at);
  return h('span', { class: 'since', 'data-testid': 'since', 'data-since': String(Math.round(s.at)), 'data-exact': s.exact ? 'true' : 'false' },
    h('time', { datetime: at.toISOString(), title }, label + fmtClock(at)),
    ' · for ' + fmtAgo(Math.max(0, Date.now() - s.at)));
}

/** lastHeard says when a member was last heard: "now" for this node and for live ones, else a time. */
export function lastHeard(state, nv, n) {
  if (n.node_id === nv.self) return 'now (this node)';
  const at = heardAt(n, state.viewAt);
  if (at == null) return 'never';
  if (isLive(n) && !state.stale) return h('span', { title: 'Heard from ' + fmtAgo(n.last_heard_ms) + ' before the last update' }, 'recently (it is up)');
  return when(at);
}
