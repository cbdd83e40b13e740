// overview.js: the dashboard: stat cards, a card per network and every
// member with its links and the evidence for its status.

import { h } from './dom.js';
import { morphPage } from './page.js';
import {
  networks, nodes, nodeStats, summary, totals, edgeIndex, fmtRTT, shortCommit, isLive, counted, tentative, byConcern, matches, linksText,
} from './model.js';
import {
  stat, healthBadge, nodeStatus, dot, emptyState, loading, updated, rowList, problemList, filterBox, onFilterInput, since, lastHeard,
} from './components.js';

export function overviewPage(ctx) {
  const open = new Set(); // "network/node" of expanded rows
  const page = morphPage(ctx, {
    title: () => 'Overview',
    render(state) {
      const v = state.view;
      if (!v) return h('section', { class: 'overview' }, loading('Connecting to this node…'));
      const t = totals(v);
      const nets = networks(v);
      const q = ctx.route.query.get('q') || '';
      const errors = t.problems.filter((p) => p.severity === 'error').length;
      const real = counted(t.problems).length;
      return h('section', { class: 'overview' },
        h('div', { class: 'page-head' },
          h('h1', null, 'Overview'),
          h('span', { class: 'muted small' }, updated(state))),
        h('div', { class: 'stats' },
          stat('Networks', String(t.networks), { testid: 'stat-networks' }),
          stat('Nodes online', `${t.online}/${t.present}`, {
            testid: 'online-count',
            tone: t.online === t.present ? 'ok' : 2 * t.online < t.present ? 'bad' : 'warn',
            sub: t.left ? `and ${t.left} left` : '',
          }),
          stat('Average RTT', fmtRTT(t.avgRTT), { testid: 'avg-rtt', sub: 'over every live link' }),
          stat('Active problems', String(real), {
            testid: 'problem-count', tone: errors ? 'bad' : real ? 'warn' : 'ok',
            sub: t.problems.length > real ? `and ${t.problems.length - real} unconfirmed` : '',
          })),
        t.problems.length ? problemList(t.problems) : null,
        h('h2', { class: 'section-title' }, 'Networks'),
        nets.length
          ? h('div', { class: 'net-cards' }, nets.map(netCard))
          : emptyState('This node is in no network yet.', 'Add one to config/nodeconf.yml; it shows here within a second.'),
        nets.length ? h('div', { class: 'toolbar list-tools' },
          filterBox('node-filter', q, 'Find nodes', 'name, status or version')) : null,
        nets.map((nv) => nodeSection(state, nv, nets.length > 1, open, q)));
    },
    onAction(action, el, e, page) {
      if (action === 'toggle') {
        const id = el.getAttribute('data-id');
        if (open.has(id)) open.delete(id);
        else open.add(id);
        page.rerender();
      }
    },
  });
  onFilterInput(page, ctx);
  return page;
}

function configShort(cfg) {
  if (!cfg) return null;
  if (cfg.type === 'git') {
    return h('span', { title: cfg.commit || '' }, 'git ', h('code', null, shortCommit(cfg.commit) || 'not synced'));
  }
  return h('span', null, cfg.type || 'local', ' config');
}

function netCard(nv) {
  const s = summary(nv);
  const id = nv.network_id;
  const list = nodes(nv);
  return h('a', {
    class: 'card net-card', href: '/networks/' + encodeURIComponent(id), 'data-key': id,
    'data-testid': 'net-card', 'data-network': id, 'data-health': s.health,
  },
  h('div', { class: 'net-card-head' }, h('span', { class: 'net-name' }, id), healthBadge(s.health)),
  h('div', { class: 'net-online' }, h('strong', { 'data-testid': 'net-online' }, `${s.online}/${s.present}`), ' online',
    s.counts.left ? ` · ${s.counts.left} left` : ''),
  h('div', {
    class: 'segbar', role: 'img',
    'aria-label': Object.entries(s.counts).filter(([, n]) => n).map(([st, n]) => `${n} ${st}`).join(', '),
  }, list.map((n) => h('span', { class: ['seg', 'st-' + n.status], title: `${n.node_id}: ${n.status}` }))),
  h('div', { class: 'net-meta' },
    h('span', null, 'avg ', fmtRTT(s.avgRTT)),
    h('span', { 'data-testid': 'net-links' }, linksText(s)),
    configShort(nv.config)));
}

function nodeSection(state, nv, multi, open, q) {
  const id = nv.network_id;
  const index = edgeIndex(nv);
  const all = byConcern(nv);
  const shown = all.filter((n) => matches(n, q));
  const rows = shown.map((n) => {
    const st = nodeStats(nv, n.node_id, index);
    const key = id + '/' + n.node_id;
    return {
      key, node: n.node_id, status: n.status, open: open.has(key),
      cells: [
        h('span', { class: 'node-name' }, dot(n.status, !!tentative(n)), h('span', { class: 'name' }, n.node_id),
          n.node_id === nv.self ? h('span', { class: 'tag' }, 'this node') : null),
        h('span', { class: 'status-cell' }, nodeStatus(n), since(state, id, n)),
        h('span', { class: 'num' }, fmtRTT(st.avgRTT)),
        h('span', { class: 'links', 'data-testid': 'links' }, st.left ? 'left the network' : st.peers === 0 ? 'no peers yet' : `In ${st.in}/${st.peers} · Out ${st.out}/${st.peers}`),
        h('span', { class: 'version' }, n.version || '—'),
      ],
      detail: () => evidence(state, nv, n),
    };
  });
  return h('section', { class: 'node-section', 'data-key': 'nodes-' + id, 'data-network': id },
    h('h2', { class: 'section-title' }, multi ? ['Nodes of ', h('a', { href: '/networks/' + encodeURIComponent(id) }, id)] : 'Nodes'),
    q ? h('p', { class: 'muted small', 'data-testid': 'filter-count' }, `${shown.length} of ${all.length} nodes match “${q}”`) : null,
    rowList({
      label: 'Nodes of ' + id, cls: 'rows-overview', testid: 'node-list',
      head: ['Node', 'Status', 'Avg RTT', 'Links', 'Version'], rows,
    }));
}

function evidence(state, nv, n) {
  const live = isLive(n); // a dead member's last RTTs are not shown
  const obs = Object.entries(n.observers || {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return h('div', { class: 'evidence' },
    h('p', null,
      h('strong', { 'data-testid': 'agreed' }, `Agreed by ${n.agreed_by}/${n.live_observers}`), ' live observers',
      n.confirmed ? ' · confirmed' : ' · not confirmed (fewer than 2 observers)',
      ' · last heard ', lastHeard(state, nv, n)),
    obs.length
      ? h('ul', { class: 'chips', 'aria-label': 'What each observer says' },
        obs.map(([o, ov]) => h('li', { class: ['chip', 'op-' + ov.opinion] },
          h('span', { class: 'chip-k' }, o), ' ', ov.opinion,
          live && ov.rtt_ms > 0 ? ' · ' + fmtRTT(ov.rtt_ms) : '', live && ov.relayed ? ' · relayed' : '')))
      : h('p', { class: 'muted' }, 'No live observer has an opinion yet.'),
    h('p', null, h('a', { href: `/networks/${encodeURIComponent(nv.network_id)}?node=${encodeURIComponent(n.node_id)}` }, 'All details in the network view →')));
}
