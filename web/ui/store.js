// store.js: the dashboard's live data. It follows /api/events/stream
// (Server-Sent Events: view snapshots and new events) and polls /api/view
// every second as well, so a change shows within a second even between
// stream snapshots, and everything keeps working when the stream is down.

const POLL_MS = 1000; // how often /api/view is fetched when no fresher view arrived
const STALE_STREAM_MS = 10000; // a stream silent this long is reopened
const MAX_EVENTS = 500; // events kept in memory, newest first
const CLUSTERS_MS = 5000; // how often clusters refresh while a screen wants them

/** HTTPError is a response with a status other than 2xx. */
export class HTTPError extends Error {
  constructor(url, status) {
    super(`${url}: HTTP ${status}`);
    this.status = status;
  }
}

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
  if (!r.ok) throw new HTTPError(url, r.status);
  return r.json();
}

/**
 * createStore returns the live state and its controls. state.conn is
 * "connecting", "live" (stream open), "reconnecting" (stream down, data
 * still polled) or "offline" (this node does not answer).
 */
export function createStore({ onStatusChange } = {}) {
  const state = {
    view: null, // the latest /api/view
    viewAt: 0, // when it arrived (ms since epoch, this browser's clock)
    events: [], // newest first
    eventsLoaded: false,
    clusters: null, // {ok: true, list} | {ok: false, missing: bool, error}
    conn: 'connecting',
    lastContact: 0, // last successful answer from the node
    version: '',
  };
  const listeners = new Set();
  let pending = false;
  function emit() {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      for (const fn of listeners) fn(state);
    }, 0);
  }

  // --- connection state -------------------------------------------------
  let streamOpen = false;
  let streamEverOpened = false;
  let pollFailing = false;
  function updateConn() {
    let c = 'connecting';
    if (pollFailing && !streamOpen) c = 'offline';
    else if (streamOpen) c = 'live';
    else if (streamEverOpened || state.view) c = 'reconnecting';
    if (c !== state.conn) {
      state.conn = c;
      emit();
    }
  }

  // --- view ---------------------------------------------------------------
  // bootOf is this node's boot id (process start) as its first network
  // tells it; a change means the node restarted with a new event log.
  function bootOf(v) {
    for (const nv of Object.values((v && v.networks) || {})) {
      const me = nv && nv.nodes && nv.nodes[nv.self];
      if (me && me.boot_id) return me.boot_id;
    }
    return 0;
  }

  function setView(v) {
    const prev = state.view;
    const boot = bootOf(v), prevBoot = bootOf(prev);
    if (boot && prevBoot && boot !== prevBoot) {
      // New process, new event ids: resuming the stream from our last id
      // would skip its first events. Start afresh.
      openStream();
      loadEvents();
    }
    state.view = v;
    state.viewAt = Date.now();
    state.lastContact = state.viewAt;
    if (prev && onStatusChange) {
      const changes = [];
      for (const [net, nv] of Object.entries(v.networks || {})) {
        const old = prev.networks && prev.networks[net];
        if (!old || !nv) continue;
        for (const [id, n] of Object.entries(nv.nodes || {})) {
          const o = old.nodes && old.nodes[id];
          if (o && o.status !== n.status) changes.push({ net, node: id, from: o.status, to: n.status });
        }
      }
      if (changes.length) onStatusChange(changes);
    }
    emit();
  }

  let viewInflight = false;
  let viewAgain = false;
  async function refreshView() {
    if (viewInflight) {
      viewAgain = true;
      return;
    }
    viewInflight = true;
    try {
      setView(await getJSON('/api/view'));
      pollFailing = false;
    } catch (e) {
      pollFailing = true;
    } finally {
      viewInflight = false;
      updateConn();
    }
    if (viewAgain) {
      viewAgain = false;
      refreshView();
    }
  }

  // --- events -------------------------------------------------------------
  function addEvents(list) {
    if (!list.length) return;
    const seen = new Set(state.events.map((e) => e.id));
    const fresh = list.filter((e) => !seen.has(e.id));
    if (!fresh.length) return;
    state.events = fresh.concat(state.events).sort((a, b) => b.id - a.id).slice(0, MAX_EVENTS);
    emit();
  }

  async function loadEvents() {
    try {
      const page = await getJSON('/api/events?limit=200');
      state.events = (page.events || []).slice(0, MAX_EVENTS);
      state.eventsLoaded = true;
      state.lastContact = Date.now();
      emit();
    } catch (e) {
      // The next poll or stream message retries.
    }
  }

  // --- stream -------------------------------------------------------------
  let es = null;
  let lastStreamMsg = 0;
  let retryMs = 1000;
  let retryTimer = 0;
  function openStream() {
    if (typeof EventSource === 'undefined') return;
    clearTimeout(retryTimer);
    if (es) es.close();
    if (streamOpen) {
      streamOpen = false;
      updateConn();
    }
    es = new EventSource('/api/events/stream');
    lastStreamMsg = Date.now();
    es.addEventListener('open', () => {
      const wasDown = streamEverOpened && !streamOpen;
      streamOpen = true;
      streamEverOpened = true;
      retryMs = 1000;
      lastStreamMsg = Date.now();
      updateConn();
      if (wasDown) loadEvents(); // catch up on what the gap hid
    });
    es.addEventListener('view', (m) => {
      lastStreamMsg = Date.now();
      try {
        setView(JSON.parse(m.data));
      } catch (e) {
        // A malformed message: keep the previous view.
      }
    });
    es.addEventListener('event', (m) => {
      lastStreamMsg = Date.now();
      let ev;
      try {
        ev = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      addEvents([ev]);
      if (ev.kind === 'status') refreshView(); // show the change now, not at the next snapshot
    });
    es.addEventListener('error', () => {
      streamOpen = false;
      updateConn();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (not a 200 text/event-stream): retry ourselves.
        retryTimer = setTimeout(openStream, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    });
  }

  // --- clusters -----------------------------------------------------------
  let clusterWanted = 0;
  let clusterTimer = 0;
  async function refreshClusters() {
    try {
      const body = await getJSON('/api/notification_cluster');
      state.clusters = { ok: true, list: body.clusters || [] };
    } catch (e) {
      state.clusters = { ok: false, missing: e instanceof HTTPError && e.status === 404, error: String(e.message || e) };
    }
    emit();
  }

  /** wantClusters keeps clusters fresh until the returned function is called. */
  function wantClusters() {
    clusterWanted++;
    if (clusterWanted === 1) {
      refreshClusters();
      clusterTimer = setInterval(refreshClusters, CLUSTERS_MS);
    }
    return () => {
      clusterWanted--;
      if (clusterWanted === 0) clearInterval(clusterTimer);
    };
  }

  // --- lifecycle ----------------------------------------------------------
  let tick = 0;
  let ticks = 0;
  function start() {
    getJSON('/api/health').then((h) => {
      state.version = h.version || '';
      emit();
    }, () => {});
    refreshView();
    loadEvents();
    openStream();
    tick = setInterval(() => {
      ticks++;
      if (Date.now() - state.viewAt >= POLL_MS - 100) refreshView();
      if (!streamOpen && ticks % 2 === 0) {
        getJSON('/api/events?limit=50').then((p) => addEvents(p.events || []), () => {});
      }
      if (streamOpen && Date.now() - lastStreamMsg > STALE_STREAM_MS) {
        streamOpen = false;
        updateConn();
        openStream();
      }
      emit(); // relative times ("updated 0.4 s ago") move on
    }, POLL_MS);
  }

  function stop() {
    clearInterval(tick);
    clearInterval(clusterTimer);
    clearTimeout(retryTimer);
    if (es) es.close();
  }

  return {
    state,
    start,
    stop,
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    wantClusters,
    getJSON,
  };
}
