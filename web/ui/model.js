// model.js: pure functions from the API's JSON (/api/view) to what the
// screens show. No DOM, no fetch: easy to reason about.

/** Statuses from worst to best, for sorting and for the legend. */
export const STATUSES = ['offline', 'degraded', 'unknown', 'online', 'left'];

/** Human labels of the node statuses. */
export const STATUS_LABEL = {
  online: 'Online', degraded: 'Degraded', offline: 'Offline', left: 'Left', unknown: 'Unknown',
};

/**
 * Human labels of a network's health (the API's online / warning /
 * offline). Distinct from the node statuses' words, so "Degraded" next to
 * a count of degraded nodes always means the nodes.
 */
export const HEALTH_LABEL = { online: 'Healthy', warning: 'Impaired', offline: 'Critical' };

/** What each network health means, for a tooltip. */
export const HEALTH_HELP = {
  online: 'Healthy: every member still in the network is online',
  warning: 'Impaired: some members are not online, but no more than half are offline',
  offline: 'Critical: more than half of the members still in the network are offline',
};

/**
 * storeTrouble says what is wrong with this node's history store, given
 * /api/health's history (absent when the node keeps none), or null when
 * nothing is: {state, text, detail}. state is "unavailable" (no store:
 * history is not kept; a node retries it while it runs), "failing"
 * (writes fail: history waits in memory) or "moved_aside" (a corrupt store
 * file was moved aside at start and a fresh store began).
 */
export function storeTrouble(hist) {
  if (!hist) return null;
  if (hist.state === 'unavailable') {
    return {
      state: 'unavailable',
      text: 'History is not being kept on this node' + (hist.since ? ' (it keeps trying to open its store)' : '') +
        '. Monitoring and alerts go on.',
      detail: hist.error || '',
    };
  }
  if (hist.state === 'failing') {
    return {
      state: 'failing',
      text: 'The history store cannot be written; monitoring and alerts go on, and history is held in memory' +
        (hist.pending ? ` (${hist.pending} records)` : '') + ' until it can.',
      detail: hist.error || '',
    };
  }
  if (hist.moved_aside) {
    return {
      state: 'moved_aside',
      text: 'The history store was corrupt: it was moved aside and a fresh one started, so older history is not shown.',
      detail: 'Moved to ' + hist.moved_aside,
    };
  }
  return null;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** naturalCompare orders names as people do: node-2 before node-10. */
export function naturalCompare(a, b) {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

const byID = naturalCompare;

/** networks returns the view's networks sorted by id. */
export function networks(view) {
  if (!view || !view.networks) return [];
  return Object.values(view.networks).filter(Boolean).sort((a, b) => byID(a.network_id, b.network_id));
}

/** nodes returns a network's members sorted by node_id. */
export function nodes(nv) {
  return Object.values(nv.nodes || {}).sort((a, b) => byID(a.node_id, b.node_id));
}

/**
 * concern ranks a member for lists: problems first (offline, degraded,
 * unknown), then opinions not confirmed, then online, then members that
 * left.
 */
export function concern(n) {
  if (tentative(n)) return 3;
  return { offline: 0, degraded: 1, unknown: 2, online: 4, left: 5 }[n.status] ?? 2;
}

/** byConcern returns a network's members, problems first, then by name in natural order. */
export function byConcern(nv) {
  return nodes(nv).sort((a, b) => concern(a) - concern(b) || naturalCompare(a.node_id, b.node_id));
}

/** matches tells whether a member matches a filter text (its id, status or version; case-insensitive). */
export function matches(n, q) {
  if (!q) return true;
  const t = q.trim().toLowerCase();
  return !t || [n.node_id, n.status, n.version || ''].some((x) => String(x).toLowerCase().includes(t));
}

/** edgeIndex maps "src\u0000dst" to the directed connection. */
export function edgeIndex(nv) {
  const m = new Map();
  for (const c of nv.connections || []) m.set(c.src + '\u0000' + c.dst, c);
  return m;
}

/** edge returns the connection src → dst, or a synthetic unknown one. */
export function edge(index, src, dst) {
  return index.get(src + '\u0000' + dst) || { src, dst, status: 'unknown', rtt_ms: 0 };
}

const mean = (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null);

/** isLive tells whether a member is up (online or degraded). */
export function isLive(n) {
  return !!n && (n.status === 'online' || n.status === 'degraded');
}

/** isPresent tells whether a member is still in the network (has not left). */
export function isPresent(n) {
  return !!n && n.status !== 'left';
}

/**
 * link is the directed link src → dst as the dashboard shows it: "absent"
 * when either end has left, "down" (and no RTT) when either end is
 * offline or unknown, else the connection as measured. A dead member's
 * last measurements are never shown as live.
 */
export function link(nv, index, src, dst) {
  const a = nv.nodes && nv.nodes[src], b = nv.nodes && nv.nodes[dst];
  if (!isPresent(a) || !isPresent(b)) return { src, dst, status: 'absent', rtt_ms: 0 };
  if (!isLive(a) || !isLive(b)) return { src, dst, status: 'down', rtt_ms: 0, gone: true };
  return edge(index, src, dst);
}

/**
 * nodeStats tells how a member is linked: in = peers with an up link to it
 * ("receives"), out = peers it has an up link to ("sends to"), both out of
 * the other members still in the network (peers); avgRTT is the mean RTT
 * peers measure to it (ms, null when none); relayed lists its links that
 * go through a relay. A member that left has no peers.
 */
export function nodeStats(nv, id, index = edgeIndex(nv)) {
  let inUp = 0, outUp = 0, peers = 0;
  const rtts = [];
  const relayed = [];
  if (!isPresent(nv.nodes[id])) return { in: 0, out: 0, peers: 0, avgRTT: null, relayed, left: true };
  for (const [other, on] of Object.entries(nv.nodes || {})) {
    if (other === id || !isPresent(on)) continue;
    peers++;
    const i = link(nv, index, other, id);
    const o = link(nv, index, id, other);
    if (i.status === 'up') {
      inUp++;
      if (i.rtt_ms > 0) rtts.push(i.rtt_ms);
      if (i.relayed) relayed.push(i);
    }
    if (o.status === 'up') {
      outUp++;
      if (o.relayed) relayed.push(o);
    }
  }
  return { in: inUp, out: outUp, peers, avgRTT: mean(rtts), relayed, left: false };
}

/** links lists every directed link between members still in the network, as link() shows it. */
export function links(nv, index = edgeIndex(nv)) {
  const ids = Object.keys(nv.nodes || {}).filter((id) => isPresent(nv.nodes[id]));
  const out = [];
  for (const a of ids) for (const b of ids) if (a !== b) out.push(link(nv, index, a, b));
  return out;
}

/**
 * health grades a network as the API's /api/networks does: online when
 * every member that has not left is online, offline when more than half
 * of them are offline, warning otherwise.
 */
export function health(counts) {
  let present = 0;
  for (const [st, n] of Object.entries(counts)) if (st !== 'left') present += n;
  if ((counts.online || 0) === present) return 'online';
  if (2 * (counts.offline || 0) > present) return 'offline';
  return 'warning';
}

/** summary counts a network's members per status and its links. */
export function summary(nv) {
  const counts = { online: 0, degraded: 0, offline: 0, left: 0, unknown: 0 };
  const list = nodes(nv);
  for (const n of list) counts[n.status] = (counts[n.status] || 0) + 1;
  const conns = links(nv);
  const up = conns.filter((c) => c.status === 'up');
  const rtts = up.filter((c) => c.rtt_ms > 0).map((c) => c.rtt_ms);
  return {
    id: nv.network_id,
    members: list.length,
    present: list.length - counts.left, // members that have not left
    online: counts.online,
    counts,
    health: health(counts),
    links: conns.length,
    linksUp: up.length,
    linksDown: conns.filter((c) => c.status === 'down').length,
    avgRTT: mean(rtts),
  };
}

/**
 * linksText is "12/12 links up", or, in a network of fewer than two
 * members still in it, what is missing for there to be links at all.
 */
export function linksText(s) {
  if (s.present < 2) return 'no links yet: a second member is needed';
  return `${s.linksUp}/${s.links} links up`;
}

/** totals sums the summaries of every network of the view. */
export function totals(view) {
  const nets = networks(view);
  let members = 0, online = 0, present = 0, left = 0;
  const rtts = [];
  for (const nv of nets) {
    const s = summary(nv);
    members += s.members;
    present += s.present;
    left += s.counts.left;
    online += s.online;
    for (const c of links(nv)) if (c.status === 'up' && c.rtt_ms > 0) rtts.push(c.rtt_ms);
  }
  return { networks: nets.length, members, present, left, online, avgRTT: mean(rtts), problems: problems(view) };
}

/** suspecters lists the observers (other than the member) that suspect it, sorted. */
export function suspecters(n) {
  return Object.entries(n.observers || {})
    .filter(([o, ov]) => o !== n.node_id && ov.opinion === 'suspect')
    .map(([o]) => o).sort(naturalCompare);
}

/**
 * tentative tells whether a member's bad status is only an opinion: an
 * offline or degraded verdict that is not confirmed (fewer than 2 live
 * observers), or a suspicion that rests on one observer. It returns who
 * says so ({by: [...]}) or null. Such a status is shown muted, with who
 * reported it, and never counts as a problem.
 */
export function tentative(n) {
  if (!n || (n.status !== 'offline' && n.status !== 'degraded')) return null;
  const by = suspecters(n);
  if (!n.confirmed) return { by, why: 'unconfirmed' };
  if (n.status === 'degraded' && by.length <= 1) return { by, why: 'single' };
  return null;
}

/** whoSays phrases the observers behind an opinion: "node-01", "node-01 and node-02". */
export function whoSays(by) {
  if (!by.length) return 'no live observer';
  if (by.length === 1) return by[0];
  return by.slice(0, -1).join(', ') + ' and ' + by[by.length - 1];
}

/**
 * problems lists what needs attention, worst first: members not online,
 * members without a key, config errors, and links down between two
 * members that are both online. A status that is only one observer's
 * opinion or not confirmed is a "note": listed, muted, never counted.
 */
/** clashText says that a member runs as two hosts with one key. */
export function clashText(n) {
  const c = n.identity_clash;
  const boots = (c.boot_ids || []).join(' and ');
  const addrs = (c.addrs || []).length ? ` at ${c.addrs.join(', ')}` : '';
  return `${n.node_id} runs as two hosts with one key (incarnations ${boots}${addrs}): stop the copy`;
}

export function problems(view) {
  const out = [];
  for (const nv of networks(view)) {
    const net = nv.network_id;
    for (const n of nodes(nv)) {
      const t = tentative(n);
      if (t) {
        const verb = n.status === 'offline' ? 'may be offline' : 'may be degraded';
        out.push({ severity: 'note', net, node: n.node_id, text: `${n.node_id} ${verb}: only ${whoSays(t.by)} ${t.by.length > 1 ? 'say' : 'says'} so (unconfirmed)` });
      } else if (n.status === 'offline') out.push({ severity: 'error', net, node: n.node_id, text: `${n.node_id} is offline` });
      else if (n.status === 'degraded') out.push({ severity: 'warning', net, node: n.node_id, text: `${n.node_id} is degraded: ${whoSays(suspecters(n))} cannot reach it` });
      else if (n.status === 'unknown') out.push({ severity: 'warning', net, node: n.node_id, text: `${n.node_id} has not been heard from` });
      if (n.key_missing) out.push({ severity: 'warning', net, node: n.node_id, text: `${n.node_id} has no usable key: ${n.key_missing}` });
      if (n.identity_clash) out.push({ severity: 'error', net, node: n.node_id, text: clashText(n) });
    }
    if (nv.config && nv.config.last_error) {
      out.push({ severity: 'error', net, node: '', text: `config: ${nv.config.last_error}` });
    }
    for (const c of nv.connections || []) {
      const a = nv.nodes[c.src], b = nv.nodes[c.dst];
      if (c.status === 'down' && a && b && a.status === 'online' && b.status === 'online') {
        out.push({ severity: 'warning', net, node: c.src, text: `link ${c.src} → ${c.dst} is down` });
      }
    }
  }
  const rank = { error: 0, warning: 1, info: 2, note: 3 };
  return out.sort((x, y) => rank[x.severity] - rank[y.severity]);
}

/** counted keeps the problems that count (not the notes). */
export function counted(list) {
  return list.filter((p) => p.severity !== 'note');
}

/**
 * pairs lists every unordered pair of members with both directions:
 * kind is "bidirectional" (both up), "partial" (one up), "none" (neither)
 * or "absent" (one of them left the network; listed last).
 */
export function pairs(nv, index = edgeIndex(nv)) {
  const ids = nodes(nv).map((n) => n.node_id);
  const out = [], gone = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const ab = link(nv, index, ids[i], ids[j]);
      const ba = link(nv, index, ids[j], ids[i]);
      if (ab.status === 'absent') {
        gone.push({ a: ids[i], b: ids[j], ab, ba, kind: 'absent' });
        continue;
      }
      const up = (ab.status === 'up') + (ba.status === 'up');
      out.push({ a: ids[i], b: ids[j], ab, ba, kind: up === 2 ? 'bidirectional' : up === 1 ? 'partial' : 'none' });
    }
  }
  return out.concat(gone);
}

/** fmtRTT formats a round-trip time in ms ("—" when unknown). */
export function fmtRTT(ms) {
  if (ms == null || !(ms > 0)) return '—';
  if (ms < 0.01) return '<0.01 ms';
  if (ms < 1) return ms.toFixed(2) + ' ms';
  if (ms < 10) return ms.toFixed(1) + ' ms';
  return Math.round(ms) + ' ms';
}

/** fmtAgo formats a duration in ms as "0.4 s", "12 s", "3 min", "2 h". */
export function fmtAgo(ms) {
  if (ms == null || ms < 0) return 'never';
  if (ms < 10000) return (ms / 1000).toFixed(ms < 1000 ? 1 : 0) + ' s';
  if (ms < 120000) return Math.round(ms / 1000) + ' s';
  if (ms < 7200000) return Math.round(ms / 60000) + ' min';
  if (ms < 172800000) return Math.round(ms / 3600000) + ' h';
  return Math.round(ms / 86400000) + ' d';
}

/** sameDay tells whether two dates fall on the same local day. */
function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/**
 * fmtClock formats a time (Date, ms or ISO string) as the local
 * "16:51:54", with the date in front when it is not today ("5 Dec
 * 16:51:54"); "" for an invalid time.
 */
export function fmtClock(t, now = new Date()) {
  const d = t instanceof Date ? t : new Date(t);
  if (isNaN(d)) return '';
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  if (sameDay(d, now)) return time;
  const opts = { day: 'numeric', month: 'short' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString([], opts) + ' ' + time;
}

/** fmtFull formats a time with its date and time zone, for a tooltip. */
export function fmtFull(t) {
  const d = t instanceof Date ? t : new Date(t);
  if (isNaN(d)) return '';
  return d.toLocaleString([], {
    weekday: 'short', year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false, timeZoneName: 'short',
  });
}

/**
 * fmtWhen is the one way times are shown: relative ("12 s ago", "3 min
 * ago") when today, else the date and time ("5 Dec 16:51:54").
 */
export function fmtWhen(t, now = new Date()) {
  const d = t instanceof Date ? t : new Date(t);
  if (isNaN(d)) return '';
  if (!sameDay(d, now)) return fmtClock(d, now);
  const ms = now - d;
  if (ms < 1000) return 'just now';
  return fmtAgo(ms) + ' ago';
}

/** fmtFor formats a duration as "for 12 s", "for 3 min". */
export function fmtFor(ms) {
  return 'for ' + fmtAgo(Math.max(0, ms));
}

/**
 * statusSince tells since when member n of network net has had its
 * status, as {at (ms), exact, how}: from the newest status event that
 * says so; else from when this page saw the change; else, for a member
 * that is not live, from when it was last heard (at the latest); else
 * "before" the page started. state is the store's state.
 */
export function statusSince(state, net, n) {
  for (const e of state.events) {
    if (e.kind === 'status' && e.network === net && e.node === n.node_id) {
      if (e.to === n.status) return { at: new Date(e.time).getTime(), exact: true, how: 'event' };
      break; // a newer event says something else: fall back
    }
  }
  const seen = state.since.get(net + '\u0000' + n.node_id);
  if (seen && seen.status === n.status && seen.seen) return { at: seen.at, exact: true, how: 'seen' };
  if (!isLive(n) && n.last_heard_ms >= 0 && state.viewAt) {
    return { at: state.viewAt - n.last_heard_ms, exact: false, how: 'heard' };
  }
  return { at: (seen && seen.at) || state.startedAt, exact: false, how: 'before' };
}

/** heardAt is when member n was last heard (ms), from a view received at viewAt; null when never. */
export function heardAt(n, viewAt) {
  return n.last_heard_ms >= 0 && viewAt ? viewAt - n.last_heard_ms : null;
}

/** shortCommit returns the first 10 hex digits of a commit. */
export function shortCommit(c) {
  return c ? c.slice(0, 10) : '';
}
