// store.js: the dashboard's live data. It follows /api/events/stream
// (Server-Sent Events): the node sends a view when what it says changes,
// a small "alive" message in between, and each new event. While the
// stream is up nothing is polled; while it is down, /api/view and
// /api/events are polled instead. Every request has a timeout, and a node
// that stops answering (crashed, hung, paused, cut off) is noticed within
// STALE_MS: the page then says since when its data is stale.
// While the tab is hidden, nothing is polled and the screens are not
// redrawn (the stream stays open: it is small, and the tab title keeps
// counting problems).

const TICK_MS = 500; // the housekeeping timer
const REDRAW_TICKS = 10; // with nothing new, screens redraw every 5 s so relative times move on
const POLL_MS = 2000; // how often /api/view is polled while the stream is down
const REQUEST_TIMEOUT_MS = 4000; // any request that takes longer is abandoned
const PROBE_AFTER_MS = 2200; // a stream silent this long: ask /api/health whether the node answers
const PROBE_TIMEOUT_MS = 1200; // how long that question may take
const STALE_MS = 3500; // no answer of any kind for this long: the data is stale
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

/** TimeoutError is a request abandoned after its timeout. */
export class TimeoutError extends Error {
  constructor(url, ms) {
    super(`${url}: no answer within ${ms / 1000} s`);
  }
}

/** getJSON fetches url as JSON, giving up after timeout ms (body included). */
async function getJSON(url, { timeout = REQUEST_TIMEOUT_MS } = {}) {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeout);
  try {
    const r = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store', signal: ac.signal });
    if (!r.ok) throw new HTTPError(url, r.status);
    return await r.json();
  } catch (e) {
    if (timedOut) throw new TimeoutError(url, timeout);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * createStore returns the live state and its controls. state.conn is
 * "connecting", "live" (stream open and the node answers), "reconnecting"
 * (stream down, data still polled and answered) or "offline" (the node has
 * not answered for STALE_MS: state.stale is true and state.lastContact
 * says since when).
 */
export function createStore({ onStatusChange } = {}) {
  const state = {
    view: null, // the latest /api/view
    viewAt: 0, // when it arrived (ms since epoch, this browser's clock)
    events: [], // newest first
    eventsLoaded: false,
    clusters: null, // {ok: true, list} | {ok: false, missing: bool, error}
    conn: 'connecting',
    stale: false, // the node has not answered for STALE_MS
    lastContact: 0, // last answer of any kind from the node
    version: '',
    history: null, // /api/health's history: the history store's state (null: none, or not known yet)
    hidden: typeof document !== 'undefined' && document.hidden,
    since: new Map(), // "net\0node" → {status, at, seen}: when this page saw the member take its status (seen: it saw the change)
    startedAt: Date.now(),
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
  let resumedAt = Date.now(); // start, or the tab shown again: silence counts from here
  let refused = false; // the last request failed outright (connection refused or reset), not by timeout
  function contact() {
    state.lastContact = Date.now();
    refused = false;
    updateConn();
  }
  function updateConn() {
    const silent = Date.now() - Math.max(state.lastContact, resumedAt);
    // A node that refuses connections while its stream is down is gone
    // now; one that just does not answer is given STALE_MS.
    const stale = silent > STALE_MS || (refused && !streamOpen);
    let c = 'connecting';
    if (stale) c = 'offline';
    else if (streamOpen) c = 'live';
    else if (streamEverOpened || state.view) c = 'reconnecting';
    if (c !== state.conn || stale !== state.stale) {
      state.conn = c;
      state.stale = stale;
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
    for (const [net, nv] of Object.entries(v.networks || {})) {
      for (const [id, n] of Object.entries((nv && nv.nodes) || {})) {
        const k = net + '\u0000' + id;
        const had = state.since.get(k);
        if (!had || had.status !== n.status) state.since.set(k, { status: n.status, at: state.viewAt, seen: !!had });
      }
    }
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
    contact();
    emit();
  }

  let viewInflight = false;
  let viewAgain = false;
  let viewPolledAt = 0;
  async function refreshView() {
    if (viewInflight) {
      viewAgain = true;
      return;
    }
    viewInflight = true;
    viewPolledAt = Date.now();
    try {
      setView(await getJSON('/api/view'));
    } catch (e) {
      // updateConn below tells how long the node has been silent.
      if (!(e instanceof HTTPError) && !(e instanceof TimeoutError)) refused = true;
    } finally {
      viewInflight = false;
      updateConn();
    }
    if (viewAgain) {
      viewAgain = false;
      refreshView();
    }
  }

  // --- health -------------------------------------------------------------
  // The history store's state comes from /api/health: at start, on every
  // probe, when the stream comes back, and whenever an event of kind
  // "history" arrives (the node raises one when the store fails, returns
  // or opens late), so it is never polled on its own.
  function setHealth(h) {
    if (!h) return;
    if (h.version) state.version = h.version;
    const hist = h.history || null;
    if (JSON.stringify(hist) !== JSON.stringify(state.history)) {
      state.history = hist;
      emit();
    }
  }

  let healthInflight = false;
  let healthAgain = false;
  async function refreshHealth() {
    if (healthInflight) {
      healthAgain = true;
      return;
    }
    healthInflight = true;
    try {
      setHealth(await getJSON('/api/health'));
      contact();
    } catch (e) {
      // The next history event, probe or reconnect asks again.
    } finally {
      healthInflight = false;
    }
    if (healthAgain) {
      healthAgain = false;
      refreshHealth();
    }
  }

  // --- events -------------------------------------------------------------
  function addEvents(list) {
    if (!list.length) return;
    const seen = new Set(state.events.map((e) => e.id));
    const fresh = list.filter((e) => !seen.has(e.id));
    if (!fresh.length) return;
    state.events = fresh.concat(state.events).sort((a, b) => b.id - a.id).slice(0, MAX_EVENTS);
    if (state.eventsLoaded && fresh.some((e) => e.kind === 'history')) refreshHealth();
    emit();
  }

  async function loadEvents() {
    try {
      const page = await getJSON('/api/events?limit=200');
      state.events = (page.events || []).slice(0, MAX_EVENTS);
      state.eventsLoaded = true;
      contact();
      emit();
    } catch (e) {
      // The next poll or stream message retries.
    }
  }

  let eventsInflight = false;
  async function pollEvents() {
    if (eventsInflight) return;
    eventsInflight = true;
    try {
      const p = await getJSON('/api/events?limit=50');
      contact();
      addEvents(p.events || []);
    } catch (e) {
      // The node is down or slow: updateConn shows it.
    } finally {
      eventsInflight = false;
    }
  }

  // --- probing a quiet node ----------------------------------------------
  let probing = false;
  async function probe() {
    if (probing) return;
    probing = true;
    try {
      const h = await getJSON('/api/health', { timeout: PROBE_TIMEOUT_MS });
      setHealth(h);
      contact();
    } catch (e) {
      updateConn();
    } finally {
      probing = false;
    }
  }

  // --- stream -------------------------------------------------------------
  let es = null;
  let lastStreamMsg = 0;
  let retryMs = 1000;
  let retryTimer = 0;
  function streamMsg() {
    lastStreamMsg = Date.now();
    contact();
  }
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
      streamMsg();
      if (wasDown) {
        loadEvents(); // catch up on what the gap hid
        refreshHealth();
      }
    });
    es.addEventListener('view', (m) => {
      streamMsg();
      try {
        setView(JSON.parse(m.data));
      } catch (e) {
        // A malformed message: keep the previous view.
      }
    });
    es.addEventListener('alive', () => streamMsg());
    es.addEventListener('event', (m) => {
      streamMsg();
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
    if (state.hidden) return;
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
  let eventsPolledAt = 0;
  function housekeeping() {
    ticks++;
    const now = Date.now();
    if (state.hidden) {
      // Nothing is polled or drawn; the open stream keeps the title true.
      return;
    }
    if (!streamOpen) {
      // The stream is down: poll instead.
      if (now - viewPolledAt >= POLL_MS - 100) refreshView();
      if (now - eventsPolledAt >= POLL_MS - 100) {
        eventsPolledAt = now;
        pollEvents();
      }
    } else if (now - lastStreamMsg > STALE_STREAM_MS) {
      streamOpen = false;
      openStream();
    }
    if (now - state.lastContact > PROBE_AFTER_MS) probe();
    updateConn();
    if (ticks % REDRAW_TICKS === 0) emit(); // relative times ("12 s ago") move on
  }

  function onVisibility() {
    state.hidden = document.hidden;
    if (!state.hidden) {
      resumedAt = Date.now();
      if (!streamOpen) refreshView();
      housekeeping();
    }
    emit();
  }

  function start() {
    refreshHealth();
    refreshView();
    loadEvents();
    openStream();
    tick = setInterval(housekeeping, TICK_MS);
    document.addEventListener('visibilitychange', onVisibility);
  }

  function stop() {
    clearInterval(tick);
    clearInterval(clusterTimer);
    clearTimeout(retryTimer);
    document.removeEventListener('visibilitychange', onVisibility);
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
