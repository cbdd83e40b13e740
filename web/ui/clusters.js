// clusters.js: the notification clusters this node takes part in: per
// network and webhook, who leads (sends the alerts) and every member's role.

import { h } from './dom.js';
import { morphPage } from './page.js';
import { emptyState, loading, dot } from './components.js';

const STATE_CLASS = {
  LEADER: 'st-online', FOLLOWER: 'st-online', WAITING_FOR_CONSENSUS: 'st-degraded',
  NOT_PARTICIPATING: 'st-left', OFFLINE: 'st-offline',
};

export function clustersPage(ctx) {
  let release = null;
  return morphPage(ctx, {
    title: () => 'Clusters',
    mount() {
      release = ctx.store.wantClusters();
    },
    destroy() {
      if (release) release();
    },
    render(state) {
      const c = state.clusters;
      const head = h('div', { class: 'page-head' }, h('h1', null, 'Notification clusters'));
      const intro = h('p', { class: 'muted intro' },
        'The members of a network that share a webhook form a cluster; one leader sends each alert, so it arrives once.');
      if (!c) return h('section', { class: 'clusters-page' }, head, intro, loading('Loading clusters…'));
      if (!c.ok) {
        return h('section', { class: 'clusters-page' }, head, intro,
          c.missing
            ? emptyState('This node does not report notification clusters.', 'Its version has no /api/notification_cluster.')
            : emptyState('Could not load the clusters.', c.error));
      }
      if (!c.list.length) {
        return h('section', { class: 'clusters-page' }, head, intro,
          h('div', { 'data-testid': 'clusters-empty' }, emptyState('No notification clusters.',
            'This node has no webhooks configured. Add a webhook under notifications in a network’s config.yml to get alerts.')));
      }
      return h('section', { class: 'clusters-page' }, head, intro,
        h('div', { class: 'cluster-cards', 'data-testid': 'clusters' },
          c.list.map((cl) => h('article', { class: 'card cluster', 'data-key': cl.network + '|' + cl.hash + '|' + cl.webhook },
            h('div', { class: 'net-card-head' },
              h('h2', { class: 'card-title' }, cl.webhook, h('span', { class: 'muted small' }, ` · ${cl.type}`)),
              cl.waiting ? h('span', { class: 'badge health-warning' }, 'waiting') : h('span', { class: 'badge health-online' }, 'active')),
            h('p', { class: 'small' }, 'Network ', h('a', { href: '/networks/' + encodeURIComponent(cl.network) }, cl.network),
              ' · cluster ', h('code', null, cl.hash), ' · leader ', cl.leader ? h('strong', null, cl.leader) : h('span', { class: 'muted' }, 'none yet')),
            h('ul', { class: 'members' }, (cl.members || []).map((m) => h('li', { 'data-key': m.node_id },
              dot((STATE_CLASS[m.state] || 'st-unknown').slice(3)),
              h('span', { class: 'name' }, m.node_id),
              h('span', { class: ['role', m.state === 'LEADER' && 'role-leader'] }, m.state.toLowerCase().replaceAll('_', ' ')))))))));
    },
  });
}
