// app.js: the dashboard's shell: routing (deep links survive a reload: the
// server answers every screen's path with this page), the connection
// indicator, the theme toggle and announcements for screen readers.

import { createStore } from './store.js';
import { overviewPage } from './overview.js';
import { networkPage } from './network.js';
import { graphPage } from './graph.js';
import { clustersPage } from './clusters.js';
import { eventsPage } from './events.js';
import { historyPage } from './history.js';
import { monitorsPage } from './monitors.js';
import { totals, counted, fmtAgo, fmtClock, fmtFull, storeTrouble } from './model.js';
import { h } from './dom.js';

const ROUTES = [
  { name: 'overview', re: /^\/$/, page: overviewPage, nav: 'overview' },
  { name: 'network', re: /^\/networks\/([^/]+)$/, keys: ['id'], page: networkPage, nav: 'overview' },
  { name: 'graph', re: /^\/graph$/, page: graphPage, nav: 'graph' },
  { name: 'clusters', re: /^\/clusters$/, page: clustersPage, nav: 'clusters' },
  { name: 'events', re: /^\/events$/, page: eventsPage, nav: 'events' },
  { name: 'history', re: /^\/history$/, page: historyPage, nav: 'history' },
  { name: 'monitors', re: /^\/monitors$/, page: monitorsPage, nav: 'monitors' },
];

function match(loc) {
  for (const r of ROUTES) {
    const m = r.re.exec(loc.pathname);
    if (!m) continue;
    const params = {};
    (r.keys || []).forEach((k, i) => {
      try {
        params[k] = decodeURIComponent(m[i + 1]);
      } catch (e) {
        params[k] = m[i + 1];
      }
    });
    return { def: r, name: r.name, params, query: new URLSearchParams(loc.search) };
  }
  return null;
}

const main = document.getElementById('main');
const connEl = document.getElementById('conn');
const connLabel = connEl.querySelector('.conn-label');
const banner = document.getElementById('banner');
const storeBannerEl = document.getElementById('store-banner');
const announcer = document.getElementById('announcer');
const versionEl = document.getElementById('version');

// --- announcements --------------------------------------------------------
let announceTimer = 0;
let announceQueue = [];
function announce(text) {
  announceQueue.push(text);
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => {
    announcer.textContent = announceQueue.join('. ');
    announceQueue = [];
  }, 300);
}

const store = createStore({
  onStatusChange(changes) {
    const multi = Object.keys(store.state.view.networks || {}).length > 1;
    for (const c of changes) announce(`${c.node}${multi ? ' in ' + c.net : ''} is now ${c.to}`);
  },
});

// --- routing ----------------------------------------------------------------
let current = null; // {route, page}
const ctx = {
  store,
  route: null,
  navigate(url) {
    history.pushState(null, '', url);
    render(true);
  },
  /** setQuery replaces the query string; notify tells the page about it. */
  setQuery(q, notify = false) {
    const s = q.toString();
    history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
    ctx.route.query = new URLSearchParams(location.search);
    if (notify && current) current.page.routeChanged && current.page.routeChanged();
  },
};

function setTitle() {
  if (!current) return;
  const t = store.state.view ? totals(store.state.view) : null;
  const n = t ? counted(t.problems).length : 0;
  const base = current.page.title(store.state) + ' · meshmon';
  document.title = n ? `(${n}) ${base}` : base;
}

function render(userNav) {
  const route = match(location);
  if (!route) {
    if (current) current.page.destroy();
    current = null;
    main.replaceChildren();
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'No such page. ';
    const a = document.createElement('a');
    a.href = '/';
    a.textContent = 'Go to the overview';
    p.append(a);
    main.append(p);
    return;
  }
  const same = current && current.route.name === route.name &&
    JSON.stringify(current.route.params) === JSON.stringify(route.params);
  ctx.route = route;
  if (same) {
    current.route = route;
    if (current.page.routeChanged) current.page.routeChanged();
  } else {
    if (current) current.page.destroy();
    const page = route.def.page(ctx);
    current = { route, page };
    main.replaceChildren(page.el);
    page.update(store.state);
    if (userNav) {
      window.scrollTo(0, 0);
      main.focus({ preventScroll: true });
    }
  }
  showStore(store.state);
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.getAttribute('data-nav') === route.def.nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  setTitle();
}

document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !match(url)) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) ctx.navigate(url.pathname + url.search);
  else if (url.hash === '') render(false);
});
window.addEventListener('popstate', () => render(false));

// --- connection indicator ---------------------------------------------------
const CONN_TEXT = {
  connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Node unreachable',
};
function showConn(state) {
  if (connEl.getAttribute('data-state') !== state.conn) {
    connEl.setAttribute('data-state', state.conn);
    connLabel.textContent = CONN_TEXT[state.conn];
  }
  const since = state.lastContact ? 'last answer ' + fmtAgo(Date.now() - state.lastContact) + ' ago' : 'no answer yet';
  connEl.title = {
    live: 'Live: following this node’s event stream; ' + since,
    reconnecting: 'The live stream is down; polling while it reconnects; ' + since,
    offline: 'This node does not answer; retrying; ' + since,
    connecting: 'Connecting to this node…',
  }[state.conn];
  const stale = !!(state.stale && state.view);
  document.body.classList.toggle('stale', stale);
  if (stale) {
    banner.hidden = false;
    const at = state.lastContact || state.viewAt;
    const text = `Stale: this node has not answered since ${fmtClock(at)} (${fmtAgo(Date.now() - at)} ago). ` +
      'What you see is what it said then; retrying.';
    if (banner.textContent !== text) banner.textContent = text;
    banner.title = 'Last answer: ' + fmtFull(at);
    banner.dataset.since = String(at);
  } else if (!banner.hidden) {
    banner.hidden = true;
  }
  if (state.version && versionEl.textContent !== state.version) versionEl.textContent = state.version;
}

// --- history store trouble ---------------------------------------------------
// On every screen but History (which says it in full itself): the history
// store is unavailable, cannot be written, or was moved aside as corrupt.
function showStore(state) {
  const tr = storeTrouble(state.history);
  if (!tr || (current && current.route.name === 'history')) {
    if (!storeBannerEl.hidden) storeBannerEl.hidden = true;
    return;
  }
  const key = [tr.state, tr.text, tr.detail].join('\u0000');
  if (storeBannerEl.dataset.key !== key) {
    storeBannerEl.dataset.key = key;
    storeBannerEl.dataset.state = tr.state;
    storeBannerEl.replaceChildren(h('strong', null, tr.text), tr.detail ? h('span', { class: 'store-banner-detail' }, ' ', tr.detail) : null,
      ' ', h('a', { href: '/history' }, 'History'));
  }
  storeBannerEl.hidden = false;
}

store.subscribe((state) => {
  showConn(state);
  showStore(state);
  if (!current) return;
  // A hidden tab keeps its title (problem count) true and draws nothing.
  if (!state.hidden) current.page.update(state);
  setTitle();
});

// --- theme --------------------------------------------------------------------
const THEME_KEY = 'meshmon.theme';
const themeBtn = document.getElementById('theme');
const themeLabel = themeBtn.querySelector('.theme-label');
function readTheme() {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'light' || t === 'dark' ? t : 'auto';
  } catch (e) {
    return 'auto';
  }
}
function applyTheme(t) {
  if (t === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = t;
  const word = { auto: 'Auto', light: 'Light', dark: 'Dark' }[t];
  themeLabel.textContent = word;
  themeBtn.setAttribute('data-theme-choice', t);
  themeBtn.setAttribute('aria-label', `Theme: ${word}${t === 'auto' ? ' (follows the system)' : ''}. Change theme`);
}
let theme = readTheme();
themeBtn.addEventListener('click', () => {
  const next = { auto: 'light', light: 'dark', dark: 'auto' }[theme];
  theme = next;
  try {
    if (next === 'auto') localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, next);
  } catch (e) {
    // Private mode: the choice lasts for this page only.
  }
  applyTheme(next);
});
applyTheme(theme);

// --- start --------------------------------------------------------------------
render(false);
showConn(store.state);
store.start();
