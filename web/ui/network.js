// network.js: one network in detail: totals and health, every member with
// the evidence for its status, the pairwise A ↔ B tiles and the config.

import { h } from './dom.js';
import { morphPage } from './page.js';
import {
  nodes, nodeStats, summary, edgeIndex, pairs, fmtRTT, shortCommit, STATUS_LABEL, isLive, tentative, byConcern, matches, clashText,
} from './model.js';
import {
  stat, healthBadge, nodeStatus, dot, emptyState, loading, updated, rowList, when, domID, filterBox, onFilterInput, since, lastHeard,
} from './components.js';

const MANY = 12; // above this many members the tiles show problem pairs first

export function networkPage(ctx) {
  const open = new Set();
  let allPairs = false;
  let scrolled = '';
  const netID = () => ctx.route.params.id;
  function fromQuery() {
    const n = ctx.route.query.get('node');
    if (n) open.add(n);
  }
  fromQuery();
  const page = morphPage(ctx, {
    title: () => netID(),
    routeChanged: fromQuery,
    render(state) {
      const id = netID();
      const v = state.view;
      if (!v) return h('section', { class: 'network' }, loading('Connecting to this node…'));
      const nv = v.networks && v.networks[id];
      if (!nv) {
        return h('section', { class: 'network' },
          h('div', { class: 'page-head' }, h('h1', null, id)),
          emptyState('This node is not in a network called “' + id + '”.',
            h('a', { href: '/' }, '← Back to the overview')));
      }
      const s = summary(nv);
      const index = edgeIndex(nv);
      const q = ctx.route.query.get('q') || '';
      const all = byConcern(nv);
      const shown = all.filter((n) => matches(n, q));
      return h('section', { class: 'network', 'data-network': id },
        h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '/' }, 'Overview'), ' / ', h('span', null, id)),
        h('div', { class: 'page-head' },
          h('h1', null, id),
          healthBadge(s.health),
          h('span', { class: 'net-online' }, h('strong', { 'data-testid': 'net-online' }, `${s.online}/${s.present}`), ' online'),
          h('span', { class: 'muted small' }, updated(state)),
          h('a', { class: 'btn', href: '/graph?network=' + encodeURIComponent(id) }, 'Graph →')),
        h('div', { class: 'stats' },
          stat('Members', String(s.members), { testid: 'stat-members', sub: 'the sum of the next five' }),
          stat('Online', String(s.counts.online), { tone: s.counts.online === s.present ? 'ok' : '', testid: 'stat-online' }),
          stat('Degraded', String(s.counts.degraded), { tone: s.counts.degraded ? 'warn' : '', testid: 'stat-degraded' }),
          stat('Offline', String(s.counts.offline), { tone: s.counts.offline ? 'bad' : '', testid: 'stat-offline' }),
          stat('Left', String(s.counts.left), { testid: 'stat-left', sub: 'announced leaving' }),
          stat('Unknown', String(s.counts.unknown), { tone: s.counts.unknown ? 'warn' : '', testid: 'stat-unknown', sub: 'not heard from yet' }),
          s.present < 2
            ? stat('Links up', '—', { testid: 'links-up', sub: 'a network of one has no links: add a second member to its config.yml' })
            : stat('Links up', `${s.linksUp}/${s.links}`, { tone: s.linksUp === s.links ? 'ok' : 'warn', testid: 'links-up' }),
          stat('Average RTT', fmtRTT(s.avgRTT))),
        h('div', { class: 'section-head' },
          h('h2', { class: 'section-title' }, 'Nodes'),
          filterBox('node-filter', q, 'Find', 'name, status or version')),
        q ? h('p', { class: 'muted small', 'data-testid': 'filter-count' }, `${shown.length} of ${all.length} nodes match “${q}”`) : null,
        rowList({
          label: 'Members of ' + id, cls: 'rows-network', testid: 'node-list',
          head: ['Node', 'Status', 'Ping', 'Receives', 'Sends to', 'Version'],
          rows: shown.map((n) => {
            const st = nodeStats(nv, n.node_id, index);
            return {
              key: n.node_id, node: n.node_id, status: n.status, open: open.has(n.node_id),
              cells: [
                h('span', { class: 'node-name' }, dot(n.status, !!tentative(n)), h('span', { class: 'name' }, n.node_id),
                  n.node_id === nv.self ? h('span', { class: 'tag' }, 'this node') : null,
                  n.key_missing ? h('span', { class: 'tag tag-warn' }, 'no key') : null,
                  n.identity_clash ? h('span', { class: 'tag tag-warn', 'data-testid': 'clash-tag', title: clashText(n) }, 'two hosts') : null),
                h('span', { class: 'status-cell' }, nodeStatus(n), since(state, id, n)),
                h('span', { class: 'num' }, fmtRTT(st.avgRTT)),
                h('span', { class: 'num', 'data-testid': 'receives' }, st.left || !st.peers ? '—' : `${st.in}/${st.peers}`),
                h('span', { class: 'num', 'data-testid': 'sends' }, st.left || !st.peers ? '—' : `${st.out}/${st.peers}`),
                h('span', { class: 'version' }, n.version || '—'),
              ],
              detail: () => nodeDetail(state, nv, n, st),
            };
          }),
        }),
        pairSection(nv, index, allPairs),
        configSection(nv));
    },
    afterRender() {
      const n = ctx.route.query.get('node');
      if (n && scrolled !== n) {
        const el = document.getElementById(domID('detail', n));
        if (el) {
          scrolled = n;
          el.parentElement.scrollIntoView({ block: 'center' });
        }
      }
    },
    onAction(action, el, e, page) {
      if (action === 'toggle') {
        const id = el.getAttribute('data-id');
        if (open.has(id)) open.delete(id);
        else open.add(id);
        page.rerender();
      } else if (action === 'all-pairs') {
        allPairs = !allPairs;
        page.rerender();
      }
    },
  });
  onFilterInput(page, ctx);
  return page;
}

function kv(k, ...v) {
  return [h('dt', null, k), h('dd', null, ...v)];
}

function nodeDetail(state, nv, n, st) {
  const obs = Object.entries(n.observers || {}).sort(([a], [b]) => (a < b ? -1 : 1));
  const boot = n.boot_id ? new Date(Number(n.boot_id)) : null;
  const relayInfo = st.relayed.length
    ? st.relayed.map((c) => `${c.src} → ${c.dst}`).join(', ') + ' go through a relay'
    : st.in + st.out > 0 ? 'every live link is direct' : 'no live link';
  return h('div', { class: 'node-detail' },
    h('dl', { class: 'kv' },
      kv('Verdict', STATUS_LABEL[n.status] || n.status, ` — agreed by ${n.agreed_by}/${n.live_observers} live observers`,
        n.confirmed ? ' (confirmed)' : ' (not confirmed: fewer than 2 observers)'),
      kv('Peer ID', n.peer_id ? h('code', { class: 'wrap', title: n.peer_id }, n.peer_id) : h('span', { class: 'muted' }, 'unknown')),
      n.url ? kv('URL', h('a', { href: n.url, rel: 'noopener' }, n.url)) : kv('URL', h('span', { class: 'muted' }, 'none (behind NAT: it dials out)')),
      kv('Reachability', n.reachability === 'public' ? 'public (members dial it; it relays for members behind NAT)'
        : n.reachability === 'private' ? 'private (behind NAT: reached through relays, or directly after hole punching)'
          : h('span', { class: 'muted' }, 'unknown')),
      kv('Relay / NAT', relayInfo),
      kv('Last heard', lastHeard(state, nv, n)),
      boot ? kv('Running since', when(boot)) : null,
      n.key_missing ? kv('Key', h('span', { class: 'text-warn' }, n.key_missing)) : null,
      n.identity_clash ? kv('Identity', h('span', { class: 'text-warn', 'data-testid': 'clash-detail' }, clashText(n))) : null),
    obs.length
      ? h('table', { class: 'obs' },
        h('caption', null, 'What each observer says of ' + n.node_id),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Observer'), h('th', { scope: 'col' }, 'Opinion'),
          h('th', { scope: 'col' }, 'RTT'), h('th', { scope: 'col' }, 'Connection'))),
        h('tbody', null, obs.map(([o, ov]) => h('tr', { 'data-key': o },
          h('th', { scope: 'row' }, o, o === n.node_id ? h('span', { class: 'muted' }, ' (itself)') : null),
          h('td', null, h('span', { class: ['op', 'op-' + ov.opinion] }, ov.opinion)),
          h('td', { class: 'num' }, o === n.node_id || !isLive(n) ? '—' : fmtRTT(ov.rtt_ms)),
          h('td', null, o === n.node_id ? '—' : ov.connected ? (ov.relayed ? 'relayed' : 'direct') : 'not connected')))))
      : h('p', { class: 'muted' }, 'No live observer has an opinion of ' + n.node_id + ' yet.'));
}

function dirLine(from, to, e) {
  const label = e.status === 'up' ? fmtRTT(e.rtt_ms) : e.status === 'absent' ? 'left' : e.status;
  return h('div', { class: ['dir', 'es-' + e.status], 'data-status': e.status },
    h('span', { class: 'dir-name' }, from, ' → ', to),
    h('span', { class: 'dir-rtt' }, label, e.relayed ? ' · relay' : ''));
}

function pairSection(nv, index, all) {
  const list = pairs(nv, index);
  const many = Object.keys(nv.nodes || {}).length > MANY;
  // A pair with a member that is not up (unknown, offline) is that
  // member's problem, listed with the members: in a large config whose
  // members mostly do not run, it would be nearly every pair.
  const bad = list.filter((p) => (p.kind === 'partial' || p.kind === 'none') && !p.ab.gone && !p.ba.gone);
  const shown = many && !all ? bad : list;
  const counts = { bidirectional: 0, partial: 0, none: 0, absent: 0 };
  for (const p of list) counts[p.kind]++;
  return h('section', { class: 'pairs-section', 'aria-labelledby': 'pairs-h' },
    h('div', { class: 'section-head' },
      h('h2', { class: 'section-title', id: 'pairs-h' }, 'Links between members'),
      h('ul', { class: 'legend', 'aria-label': 'Legend' },
        h('li', null, h('span', { class: 'swatch kind-bidirectional' }), `bidirectional (${counts.bidirectional})`),
        h('li', null, h('span', { class: 'swatch kind-partial' }), `partial (${counts.partial})`),
        h('li', null, h('span', { class: 'swatch kind-none' }), `none (${counts.none})`),
        counts.absent ? h('li', null, h('span', { class: 'swatch kind-absent' }), `member left (${counts.absent})`) : null)),
    list.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-pairs' }, 'A network of one has no links: add a second member to its config.yml (node_config) and give it the member’s key.') : null,
    many ? h('p', { class: 'muted small' },
      all ? `All ${list.length} pairs. ` : `${counts.bidirectional} of ${list.length} pairs are fine in both directions${list.length - counts.bidirectional - bad.length > 0 ? `, ${list.length - counts.bidirectional - bad.length} have a member that is not up or left` : ''}; showing the others. `,
      h('button', { type: 'button', class: 'linkish', 'data-action': 'all-pairs' }, all ? 'Show problems only' : 'Show all pairs')) : null,
    h('ul', { class: 'pairs', 'data-testid': 'pairs' },
      shown.map((p) => h('li', {
        class: ['pair', 'kind-' + p.kind], 'data-key': p.a + '\u0000' + p.b, 'data-kind': p.kind, 'data-a': p.a, 'data-b': p.b,
      },
      h('div', { class: 'pair-title' }, h('span', null, p.a), h('span', { class: 'pair-sym', 'aria-label': 'and' }, ' ↔ '), h('span', null, p.b),
        h('span', { class: 'sr-only' }, ': ' + p.kind)),
      dirLine(p.a, p.b, p.ab),
      dirLine(p.b, p.a, p.ba)))));
}

function configSection(nv) {
  const c = nv.config;
  if (!c) return null;
  return h('section', { class: 'card config', 'aria-labelledby': 'config-h' },
    h('h2', { class: 'card-title', id: 'config-h' }, 'Config'),
    h('dl', { class: 'kv' },
      kv('Source', c.type === 'git' ? 'git repository' : 'local files'),
      kv('Directory', h('code', null, 'config/networks/' + c.directory)),
      c.type === 'git' ? kv('Commit', c.commit ? h('code', { title: c.commit, 'data-testid': 'commit' }, shortCommit(c.commit)) : h('span', { class: 'muted' }, 'not synced yet')) : null,
      c.ref ? kv('Ref', h('code', null, c.ref)) : null,
      c.synced_at ? kv('Last sync', when(c.synced_at)) : null,
      kv('Timing', `heartbeat ${c.heartbeat_ms} ms · suspect after ${c.suspect_after_ms} ms`),
      c.last_error ? kv('Problem', h('span', { class: 'text-bad' }, c.last_error)) : null));
}
