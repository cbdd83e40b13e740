// events.js: what happened, newest first, live, filtered by network and
// severity (the filters are in the URL, so a filtered list can be shared).

import { h } from './dom.js';
import { morphPage } from './page.js';
import { networks, fmtAgo } from './model.js';
import { severityBadge, emptyState, when, filterBox, onFilterInput } from './components.js';

const PAGE = 100;
const BLIP_MS = 10000; // a status undone within this long was short-lived

/**
 * shortLived maps the id of each status event that was undone (the member
 * went back to its previous status) within BLIP_MS to how long it lasted,
 * and the id of the event that undid it to the same. list is newest first.
 */
function shortLived(list) {
  const out = new Map();
  const later = new Map(); // "net\0node" → the next status event (newer)
  for (const e of list) {
    if (e.kind !== 'status' || !e.node) continue;
    const k = (e.network || '') + '\u0000' + e.node;
    const next = later.get(k);
    later.set(k, e);
    if (!next || next.to !== e.from || next.from !== e.to) continue;
    const ms = new Date(next.time) - new Date(e.time);
    if (ms >= 0 && ms < BLIP_MS) {
      out.set(e.id, ms);
      if (!out.has(next.id)) out.set(next.id, -ms); // negative: it undid a short-lived one
    }
  }
  return out;
}

/** quiet tells whether a status event is only an opinion: unconfirmed, or undone at once. */
function quiet(e, blips) {
  return e.kind === 'status' && (!e.confirmed || blips.has(e.id));
}


export function eventsPage(ctx) {
  // older: events fetched with the current filter; the store's live list
  // is merged on top, so new events appear without a fetch.
  let older = [];
  let nextBefore = 0;
  let loaded = false;
  let failed = '';
  let gen = 0;
  let baseline = -1; // events above this id arrived while the page was open
  const filter = () => ({
    network: ctx.route.query.get('network') || '',
    severity: ctx.route.query.get('severity') || '',
  });
  async function load(append) {
    const f = filter();
    const my = ++gen;
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (f.network) q.set('network', f.network);
    if (f.severity) q.set('severity', f.severity);
    if (append && nextBefore) q.set('before', String(nextBefore));
    try {
      const page = await ctx.store.getJSON('/api/events?' + q);
      if (my !== gen) return;
      older = append ? older.concat(page.events || []) : page.events || [];
      nextBefore = page.next_before || 0;
      loaded = true;
      failed = '';
    } catch (e) {
      if (my !== gen) return;
      failed = String(e.message || e);
    }
    p.rerender();
  }
  const keep = (f) => (e) => (!f.network || e.network === f.network) && (!f.severity || e.severity === f.severity);
  const find = (q) => {
    const t = q.trim().toLowerCase();
    return (e) => !t || [e.message, e.node || '', e.network || '', e.kind].some((x) => x.toLowerCase().includes(t));
  };

  const p = morphPage(ctx, {
    title: () => 'Events',
    mount: () => setTimeout(() => load(false), 0),
    routeChanged: () => {
      loaded = false;
      older = [];
      load(false);
    },
    render(state) {
      const f = filter();
      const nets = networks(state.view).map((n) => n.network_id);
      if (f.network && !nets.includes(f.network)) nets.push(f.network);
      const seen = new Set();
      let list = [];
      for (const e of state.events.filter(keep(f)).concat(older)) {
        if (seen.has(e.id)) continue;
        seen.add(e.id);
        list.push(e);
      }
      list.sort((a, b) => b.id - a.id);
      const blips = shortLived(list); // over the unfiltered list, so a filter does not hide what undid an event
      const q = ctx.route.query.get('q') || '';
      const all = list.length;
      if (q) list = list.filter(find(q));
      if (baseline < 0 && loaded) baseline = list.length ? list[0].id : 0;
      return h('section', { class: 'events-page' },
        h('div', { class: 'page-head' }, h('h1', null, 'Events'),
          h('span', { class: 'muted small' }, state.conn === 'live' ? 'live' : 'refreshing every 2 s')),
        h('form', { class: 'toolbar filters', role: 'search', 'aria-label': 'Filter events' },
          h('label', { class: 'field', for: 'ev-net' }, h('span', null, 'Network'),
            h('select', { id: 'ev-net', name: 'network', 'data-filter': 'network' },
              h('option', { value: '', selected: !f.network }, 'All networks'),
              nets.map((n) => h('option', { value: n, selected: f.network === n }, n)))),
          h('label', { class: 'field', for: 'ev-sev' }, h('span', null, 'Severity'),
            h('select', { id: 'ev-sev', name: 'severity', 'data-filter': 'severity' },
              [['', 'All severities'], ['error', 'Errors'], ['warning', 'Warnings'], ['info', 'Info']].map(([v, t]) =>
                h('option', { value: v, selected: f.severity === v }, t)))),
          filterBox('ev-q', q, 'Find', 'node, message or kind'),
          h('span', { class: 'muted small', 'aria-live': 'polite', 'data-testid': 'filter-count' },
            q ? `${list.length} of ${all} events match` : `${list.length} event${list.length === 1 ? '' : 's'}`)),
        failed ? h('p', { class: 'text-bad' }, 'Could not load events: ', failed) : null,
        !loaded && !list.length ? h('p', { class: 'muted' }, 'Loading events…') : null,
        loaded && !list.length ? emptyState('No events' + (f.network || f.severity || q ? ' match these filters.' : ' yet.'),
          'Status changes, config problems and missing keys show here as they happen.') : null,
        list.length ? h('ol', { class: 'events', 'data-testid': 'events' },
          list.map((e) => {
            const q = quiet(e, blips);
            const blip = blips.get(e.id);
            return h('li', {
              class: ['event', q ? 'ev-quiet' : 'sev-' + e.severity, baseline >= 0 && e.id > baseline && 'fresh'],
              'data-key': String(e.id), 'data-id': String(e.id), 'data-quiet': q ? 'true' : null,
            },
            h('span', { class: 'ev-time' }, when(e.time)),
            q ? severityBadge(e.confirmed ? 'short-lived' : 'unconfirmed') : severityBadge(e.severity),
            h('span', { class: 'ev-msg' }, e.message,
              e.kind === 'status' && e.from ? h('span', { class: 'muted' }, ` (was ${e.from}${e.confirmed ? '' : ', not confirmed by a majority of observers'})`) : null,
              blip > 0 ? h('span', { class: 'muted', 'data-testid': 'lasted' }, ` · undone after ${fmtAgo(blip)}`) : null,
              blip < 0 ? h('span', { class: 'muted', 'data-testid': 'lasted' }, ` · back after ${fmtAgo(-blip)}`) : null),
            h('span', { class: 'ev-where muted small' },
              e.network ? h('a', { href: '/networks/' + encodeURIComponent(e.network) + (e.node ? '?node=' + encodeURIComponent(e.node) : '') }, e.network) : 'node',
              ' · ', e.kind));
          })) : null,
        nextBefore ? h('p', null, h('button', { type: 'button', class: 'btn', 'data-action': 'older' }, 'Load older events')) : null);
    },
    onAction(action) {
      if (action === 'older') load(true);
    },
    onChange(el) {
      const k = el.getAttribute('data-filter');
      if (!k || k === 'q') return;
      const q = new URLSearchParams(ctx.route.query);
      if (el.value) q.set(k, el.value);
      else q.delete(k);
      ctx.setQuery(q, true);
    },
  });
  p.el.addEventListener('submit', (e) => e.preventDefault());
  onFilterInput(p, ctx);
  return p;
}
