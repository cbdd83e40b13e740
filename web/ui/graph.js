// graph.js: the network as a directed graph in SVG. Members are circles
// coloured by status; every directed link is a curve with an arrow and its
// RTT; failed links are red and dashed. Hover, focus or click a member to
// see only its links; drag members, drag the background to pan, scroll or
// use the buttons to zoom.

import { h, s, morph, clear } from './dom.js';
import { networks, nodes, nodeStats, edgeIndex, edge, link, summary, fmtRTT, STATUS_LABEL, tentative, linksText } from './model.js';
import { healthBadge, nodeStatus, emptyState, loading, updated, since } from './components.js';
import { layout } from './layout.js';

const DENSE = 12; // above this many members: smaller circles, labels on demand

/**
 * ICONS draw each status inside its circle (for a radius of 20), so a
 * status never rests on colour alone: a tick, an exclamation mark, a
 * cross, a question mark, a dash.
 */
const ICONS = {
  online: 'M-7,0.5 L-2.2,5.3 L7,-4.7',
  degraded: 'M0,-8 L0,2.5 M0,7.2 L0,7.4',
  offline: 'M-6,-6 L6,6 M6,-6 L-6,6',
  unknown: 'M-4.8,-3.6 C-4.8,-9.6 5.2,-9.6 5.2,-3.6 C5.2,0.2 0.2,0 0.2,3.4 M0.2,7.6 L0.2,7.8',
  left: 'M-7,0 L7,0',
};

/** set changes an attribute only when its value differs (cheap repaints of big graphs). */
function set(el, name, value) {
  const v = String(value);
  if (el.getAttribute(name) !== v) el.setAttribute(name, v);
}

export function graphPage(ctx) {
  const el = h('div', { class: 'page graph-page' });

  // --- chrome -------------------------------------------------------------
  const select = h('select', { id: 'graph-net', 'data-testid': 'graph-network' });
  const labels = h('input', { type: 'checkbox', id: 'graph-labels' });
  const btn = (label, text, action) => h('button', { type: 'button', class: 'btn btn-icon', 'aria-label': label, title: label, 'data-action': action }, text);
  const head = h('div', { class: 'page-head' }, h('h1', null, 'Graph'), h('span', { class: 'muted small graph-updated' }));
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Graph controls' },
    h('label', { class: 'field', for: 'graph-net' }, h('span', null, 'Network'), select),
    h('label', { class: 'check', for: 'graph-labels' }, labels, h('span', null, 'RTT labels')),
    h('span', { class: 'toolbar-sp' }),
    h('span', { class: 'btn-group' }, btn('Zoom out', '−', 'zoom-out'), btn('Zoom in', '+', 'zoom-in'), btn('Fit to screen', '⤢', 'fit')));
  const svg = s('svg', { class: 'graph', 'data-testid': 'graph', role: 'group', 'aria-label': 'Network graph', tabindex: '-1' });
  const defs = s('defs', null,
    ['up', 'down', 'unknown', 'hl'].map((k) => s('marker', {
      id: 'arrow-' + k, class: 'arrow arrow-' + k, viewBox: '0 0 10 10', refX: '8', refY: '5',
      markerWidth: '7', markerHeight: '7', markerUnits: 'userSpaceOnUse', orient: 'auto',
    }, s('path', { d: 'M0,1 L9,5 L0,9 z' }))));
  const viewport = s('g', { class: 'viewport' });
  const edgesG = s('g', { class: 'edges' });
  const labelsG = s('g', { class: 'edge-labels' });
  const nodesG = s('g', { class: 'nodes' });
  viewport.append(edgesG, labelsG, nodesG);
  svg.append(defs, viewport);
  const stage = h('div', { class: 'graph-stage card' }, svg,
    h('p', { class: 'graph-hint muted small' }, h('span', { class: 'hint-mouse' }, 'Hover or click a node to show only its links · drag to move it or the view · scroll to zoom · Esc clears'), h('span', { class: 'hint-touch' }, 'Tap a node to show only its links · tap it again or the background to show all · drag to move · pinch to zoom')));
  const info = h('aside', { class: 'graph-info card', 'aria-live': 'polite', 'data-testid': 'graph-info' });
  const empty = h('div', { class: 'graph-empty' });
  el.append(head, toolbar, empty, h('div', { class: 'graph-layout' }, stage, info));

  // --- state ----------------------------------------------------------------
  let net = ctx.route.query.get('network') || '';
  let selected = ctx.route.query.get('node') || '';
  let hover = '';
  let layoutKey = '';
  let pos = new Map(); // id → {x, y, fixed}
  const nodeEls = new Map(); // id → {g, circle, label, ring}
  const edgeEls = new Map(); // "a\0b" → {g, path, label, src, dst}
  let tf = { x: 0, y: 0, k: 1 };
  let userView = false; // the user panned or zoomed: do not refit
  let labelsPref = null; // null: automatic (on for small networks)
  let current = null; // the network view drawn
  let infoRoot = null;

  function setQuery() {
    const q = new URLSearchParams();
    if (net) q.set('network', net);
    if (selected) q.set('node', selected);
    ctx.setQuery(q);
  }

  // --- geometry -------------------------------------------------------------
  function radius() {
    return nodeEls.size > DENSE ? 13 : 20;
  }

  function applyTransform() {
    viewport.setAttribute('transform', `translate(${tf.x.toFixed(1)},${tf.y.toFixed(1)}) scale(${tf.k.toFixed(4)})`);
  }

  function fit() {
    const r = svg.getBoundingClientRect();
    if (!r.width || !pos.size) return;
    // The drawn extent: circles and names (and the curves between them).
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    try {
      const b = nodesG.getBBox();
      if (b.width > 0) {
        x0 = b.x; y0 = b.y; x1 = b.x + b.width; y1 = b.y + b.height;
      }
    } catch (e) {
      // Not rendered yet: fall back to the centres.
    }
    for (const p of pos.values()) {
      const pad = radius() + 6;
      x0 = Math.min(x0, p.x - pad); y0 = Math.min(y0, p.y - pad);
      x1 = Math.max(x1, p.x + pad); y1 = Math.max(y1, p.y + pad);
    }
    const m = 18; // margin inside the frame, px
    const k = Math.min((r.width - 2 * m) / (x1 - x0), (r.height - 2 * m) / (y1 - y0), 1.25);
    tf = { k, x: r.width / 2 - ((x0 + x1) / 2) * k, y: r.height / 2 - ((y0 + y1) / 2) * k };
    applyTransform();
  }

  function centroid() {
    let x = 0, y = 0;
    for (const p of pos.values()) { x += p.x; y += p.y; }
    return { x: x / (pos.size || 1), y: y / (pos.size || 1) };
  }

  function geometry() {
    const r = radius();
    const c = centroid();
    for (const [id, ne] of nodeEls) {
      const p = pos.get(id);
      ne.g.setAttribute('transform', `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`);
      // The name sits outside the node, away from the centre of the drawing.
      let dx = p.x - c.x, dy = p.y - c.y;
      const d = Math.hypot(dx, dy);
      if (d < 1) { dx = 0; dy = 1; } else { dx /= d; dy /= d; }
      const lx = dx * (r + 10), ly = dy * (r + 10) + 4;
      ne.label.setAttribute('x', lx.toFixed(1));
      ne.label.setAttribute('y', (dy > 0.5 ? ly + 6 : dy < -0.5 ? ly - 2 : ly).toFixed(1));
      ne.label.setAttribute('text-anchor', dx > 0.35 ? 'start' : dx < -0.35 ? 'end' : 'middle');
    }
    for (const e of edgeEls.values()) {
      const a = pos.get(e.src), b = pos.get(e.dst);
      const dx = b.x - a.x, dy = b.y - a.y;
      const len = Math.hypot(dx, dy) || 1;
      const ux = dx / len, uy = dy / len;
      const bend = Math.min(28, len * 0.12);
      // Each direction bends to its own right, so A→B and B→A never overlap.
      const cx = (a.x + b.x) / 2 - uy * bend, cy = (a.y + b.y) / 2 + ux * bend;
      const sx0 = cx - a.x, sy0 = cy - a.y, sl = Math.hypot(sx0, sy0) || 1;
      const ex0 = b.x - cx, ey0 = b.y - cy, el0 = Math.hypot(ex0, ey0) || 1;
      const sx = a.x + (sx0 / sl) * (r + 2), sy = a.y + (sy0 / sl) * (r + 2);
      const ex = b.x - (ex0 / el0) * (r + 3), ey = b.y - (ey0 / el0) * (r + 3);
      e.path.setAttribute('d', `M${sx.toFixed(1)},${sy.toFixed(1)} Q${cx.toFixed(1)},${cy.toFixed(1)} ${ex.toFixed(1)},${ey.toFixed(1)}`);
      // A label sits beside its curve, on the first third (near the member
      // that measured it, clear of the crowded middle) or, while a member
      // is picked, near the other end (spread around the picked one).
      const at = (t) => {
        const a0 = (1 - t) * (1 - t), a1 = 2 * (1 - t) * t, a2 = t * t;
        return [a0 * sx + a1 * cx + a2 * ex - uy * 8, a0 * sy + a1 * cy + a2 * ey + ux * 8 + 3.5];
      };
      e.cands = (len > 150 ? [0.3, 0.37, 0.23, 0.44, 0.16, 0.51, 0.58, 0.65] : [0.4, 0.32, 0.48, 0.56]).map(at);
      e.nearSrc = e.cands[0];
      e.peerSrc = at(len > 300 ? 0.18 : len > 150 ? 0.3 : 0.4);
      e.peerDst = at(len > 300 ? 0.82 : len > 150 ? 0.7 : 0.6);
    }
    // In a small graph, slide each label along its curve to the first spot
    // where it overlaps no other label and no member (greedy; a big graph
    // shows labels only for the picked member, spread out already).
    if (nodeEls.size <= DENSE) {
      const W = 50, H = 14; // a label's box: "0.14 ms" at 10.5px, with a margin
      const centres = [...pos.values()];
      const placed = [];
      const clashes = ([x, y]) => placed.filter(([px, py]) => Math.abs(px - x) < W && Math.abs(py - y) < H).length +
        3 * centres.filter((p) => Math.abs(p.x - x) < r + W / 2 && Math.abs(p.y - y + 3.5) < r + H / 2).length;
      for (const e of edgeEls.values()) {
        let best = e.cands[0], least = Infinity;
        for (const c of e.cands) {
          const n = clashes(c);
          if (n < least) {
            best = c;
            least = n;
            if (n === 0) break;
          }
        }
        e.nearSrc = best;
        placed.push(best);
      }
    }
    for (const e of edgeEls.values()) placeLabel(e);
  }

  function placeLabel(e) {
    if (!e.nearSrc) return;
    const f = hover || selected;
    const [x, y] = !f ? e.nearSrc : e.src === f ? e.peerDst : e.dst === f ? e.peerSrc : e.nearSrc;
    set(e.label, 'x', x.toFixed(1));
    set(e.label, 'y', y.toFixed(1));
  }

  // --- building -------------------------------------------------------------
  function rebuild(nv) {
    const ids = nodes(nv).map((n) => n.node_id);
    const index = edgeIndex(nv);
    const links = [];
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        if (edge(index, ids[i], ids[j]).status === 'up' || edge(index, ids[j], ids[i]).status === 'up') links.push([ids[i], ids[j]]);
      }
    }
    const keep = new Map();
    for (const id of ids) if (pos.has(id)) keep.set(id, pos.get(id));
    pos = layout(ids, links, keep);

    clear(edgesG); clear(labelsG); clear(nodesG);
    nodeEls.clear(); edgeEls.clear();
    for (const a of ids) {
      for (const b of ids) {
        if (a === b) continue;
        const path = s('path', { class: 'edge-line' });
        const label = s('text', { class: 'edge-label' });
        const g = s('g', { class: 'edge', 'data-src': a, 'data-dst': b }, path, s('title', null, `${a} → ${b}`));
        edgesG.append(g);
        labelsG.append(label);
        edgeEls.set(a + '\u0000' + b, { g, path, label, src: a, dst: b });
      }
    }
    for (const id of ids) {
      const circle = s('circle', { r: '0', class: 'node-circle' });
      const ring = s('circle', { r: '0', class: 'self-ring' });
      const icon = s('path', { class: 'node-icon', 'aria-hidden': 'true' });
      const label = s('text', { class: 'node-label' }, id);
      const title = s('title');
      const g = s('g', { class: 'node', 'data-id': id, tabindex: '0', role: 'button' }, title, ring, circle, icon, label);
      nodesG.append(g);
      nodeEls.set(id, { g, circle, ring, icon, label, title });
    }
    const r = radius();
    for (const ne of nodeEls.values()) {
      ne.circle.setAttribute('r', r);
      ne.ring.setAttribute('r', r + 5);
      ne.icon.setAttribute('transform', `scale(${(r / 20).toFixed(2)})`);
    }
    svg.classList.toggle('dense', ids.length > DENSE);
    geometry();
  }

  function paint(nv) {
    const index = edgeIndex(nv);
    for (const n of nodes(nv)) {
      const ne = nodeEls.get(n.node_id);
      if (!ne) continue;
      const st = nodeStats(nv, n.node_id, index);
      // Base classes only when they change; focus() adds focus, sel and nb.
      const base = `node st-${n.status}` + (n.node_id === nv.self ? ' self' : '') + (tentative(n) ? ' tentative' : '');
      if (ne.base !== base) {
        ne.base = base;
        ne.g.setAttribute('class', base);
      }
      set(ne.g, 'data-status', n.status);
      set(ne.icon, 'd', ICONS[n.status] || ICONS.unknown);
      set(ne.icon, 'data-icon', n.status);
      const text = `${n.node_id}: ${STATUS_LABEL[n.status] || n.status}, receives from ${st.in}/${st.peers}, sends to ${st.out}/${st.peers}`;
      set(ne.g, 'aria-label', text);
      set(ne.g, 'aria-pressed', selected === n.node_id ? 'true' : 'false');
      if (ne.title.textContent !== text) ne.title.textContent = text;
    }
    for (const e of edgeEls.values()) {
      const c = link(nv, index, e.src, e.dst);
      const back = link(nv, index, e.dst, e.src);
      const oneWay = (c.status === 'up') !== (back.status === 'up') && back.status !== 'absent';
      const base = `edge es-${c.status}` + (oneWay ? ' one-way' : '') + (c.relayed ? ' relayed' : '');
      if (e.base !== base) {
        e.base = base;
        e.g.setAttribute('class', base);
        e.label.setAttribute('class', `edge-label es-${c.status}`);
      }
      set(e.g, 'data-status', c.status);
      set(e.path, 'marker-end', `url(#arrow-${c.status === 'up' || c.status === 'down' ? c.status : 'unknown'})`);
      const text = c.status === 'up' ? fmtRTT(c.rtt_ms) : c.status === 'down' ? '✕' : '';
      if (e.label.textContent !== text) e.label.textContent = text;
      set(e.label, 'data-src', e.src);
      set(e.label, 'data-dst', e.dst);
    }
    focus();
  }

  function focus() {
    const f = hover || selected;
    svg.classList.toggle('focusing', !!f && nodeEls.has(f));
    const showLabels = labelsPref != null ? labelsPref : nodeEls.size <= DENSE;
    svg.classList.toggle('no-labels', !showLabels);
    if (labels.checked !== showLabels) labels.checked = showLabels;
    const nb = new Set();
    for (const e of edgeEls.values()) {
      const on = !!f && (e.src === f || e.dst === f);
      e.g.classList.toggle('hl', on);
      e.label.classList.toggle('hl', on);
      if (on) nb.add(e.src === f ? e.dst : e.src);
      placeLabel(e);
    }
    for (const [id, ne] of nodeEls) {
      ne.g.classList.toggle('focus', id === f);
      ne.g.classList.toggle('sel', id === selected);
      ne.g.classList.toggle('nb', nb.has(id));
    }
  }

  // --- side panel -----------------------------------------------------------
  function infoPanel(state, nv) {
    const f = selected || hover;
    const n = f && nv.nodes[f];
    if (!n) {
      const sm = summary(nv);
      return h('div', null,
        h('h2', { class: 'card-title' }, nv.network_id, ' ', healthBadge(sm.health)),
        h('p', null, h('strong', null, `${sm.online}/${sm.present}`), ' online · ', linksText(sm), sm.present < 2 ? '' : ` · avg ${fmtRTT(sm.avgRTT)}`),
        legend(),
        h('p', { class: 'muted small' }, 'Select a node to see its links.'));
    }
    const index = edgeIndex(nv);
    const st = nodeStats(nv, f, index);
    const others = nodes(nv).map((x) => x.node_id).filter((x) => x !== f);
    const cell = (c) => h('td', { class: ['num', 'es-' + c.status] },
      c.status === 'up' ? fmtRTT(c.rtt_ms) + (c.relayed ? ' ⇢' : '') : c.status === 'down' ? 'down' : c.status === 'absent' ? 'left' : '—');
    return h('div', null,
      h('h2', { class: 'card-title' }, f, n.node_id === nv.self ? h('span', { class: 'tag' }, 'this node') : null),
      h('p', null, nodeStatus(n), ` · agreed by ${n.agreed_by}/${n.live_observers}`),
      n.status !== 'online' ? h('p', { class: 'small' }, since(state, nv.network_id, n)) : null,
      h('p', { class: 'small' }, st.left ? 'Left the network' : st.peers === 0 ? 'No peers yet: a second member is needed' : `Receives from ${st.in}/${st.peers} · sends to ${st.out}/${st.peers} · ping ${fmtRTT(st.avgRTT)}`, n.version ? ` · ${n.version}` : ''),
      h('table', { class: 'link-table', 'data-testid': 'graph-links' },
        h('caption', { class: 'sr-only' }, `Links of ${f}: the RTT ${f} measures to each peer, and each peer to ${f}`),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Peer'), h('th', { scope: 'col', class: 'num' }, `${f} →`), h('th', { scope: 'col', class: 'num' }, `→ ${f}`))),
        h('tbody', null, others.map((o) => h('tr', { 'data-key': o, 'data-peer': o },
          h('th', { scope: 'row' }, o), cell(link(nv, index, f, o)), cell(link(nv, index, o, f)))))),
      h('p', { class: 'small' },
        h('a', { href: `/networks/${encodeURIComponent(nv.network_id)}?node=${encodeURIComponent(f)}` }, 'Details →'), ' ',
        selected ? h('button', { type: 'button', class: 'linkish', 'data-action': 'clear' }, 'Show all links') : null));
  }

  function legend() {
    const line = (cls, text, key) => h('li', { 'data-legend': key },
      s('svg', { width: '34', height: '10', 'aria-hidden': 'true', class: 'legend-line' },
        s('g', { class: cls }, s('line', { x1: '1', y1: '5', x2: '33', y2: '5', class: 'edge-line' }))),
      text);
    const node = (st, text, cls = '') => h('li', { 'data-legend': cls ? cls : st },
      s('svg', { width: '18', height: '18', viewBox: '-10 -10 20 20', 'aria-hidden': 'true', class: 'legend-node' },
        s('g', { class: ('node st-' + st + ' ' + cls).trim() },
          s('circle', { r: '8.5', class: 'node-circle' }),
          s('path', { d: ICONS[st] || '', class: 'node-icon', transform: 'scale(0.42)' }))),
      text);
    return h('div', { class: 'legend-graph-wrap' },
      h('ul', { class: 'legend legend-graph', 'aria-label': 'Legend: members' },
        node('online', 'online'),
        node('degraded', 'degraded (some peers cannot reach it)'),
        node('offline', 'offline'),
        node('unknown', 'unknown (not heard from yet)'),
        node('left', 'left the network'),
        node('offline', 'unconfirmed (one observer’s opinion)', 'tentative'),
        h('li', { 'data-legend': 'self' },
          s('svg', { width: '18', height: '18', viewBox: '-10 -10 20 20', 'aria-hidden': 'true', class: 'legend-node' },
            s('g', { class: 'node self' }, s('circle', { r: '8.5', class: 'self-ring' }))),
          'this node (dashed ring)')),
      h('ul', { class: 'legend legend-graph', 'aria-label': 'Legend: links' },
        line('edge es-up', 'link up (RTT)', 'up'),
        line('edge es-down', 'link down (✕)', 'down'),
        line('edge es-up one-way', 'one-way (only this direction up)', 'one-way'),
        line('edge es-up relayed', 'relayed (through a relay)', 'relayed'),
        line('edge es-unknown', 'no data', 'unknown')));
  }

  // --- update -----------------------------------------------------------------
  function update(state) {
    const v = state.view;
    const upd = head.querySelector('.graph-updated');
    upd.textContent = updated(state);
    if (!v) {
      morphEmpty(loading('Connecting to this node…'));
      return;
    }
    const nets = networks(v);
    const want = nets.map((n) => n.network_id).join('\u0000');
    if (select.getAttribute('data-nets') !== want) {
      clear(select);
      for (const n of nets) select.append(h('option', { value: n.network_id }, n.network_id));
      select.setAttribute('data-nets', want);
    }
    if (!net || !v.networks[net]) net = nets.length ? nets[0].network_id : '';
    if (select.value !== net) select.value = net;
    const nv = net && v.networks[net];
    if (!nv) {
      morphEmpty(emptyState('This node is in no network yet.'));
      stage.hidden = true;
      info.hidden = true;
      return;
    }
    morphEmpty(null);
    stage.hidden = false;
    info.hidden = false;
    const key = net + '\u0001' + nodes(nv).map((n) => n.node_id).join('\u0000');
    if (key !== layoutKey) {
      if (!layoutKey.startsWith(net + '\u0001')) pos = new Map();
      layoutKey = key;
      rebuild(nv);
      if (!userView) fit();
    }
    if (selected && !nv.nodes[selected]) selected = '';
    current = nv;
    paint(nv);
    const next = infoPanel(state, nv);
    if (!infoRoot) {
      info.append(next);
      infoRoot = next;
    } else infoRoot = morph(infoRoot, next);
  }

  let emptyRoot = null;
  function morphEmpty(node) {
    if (!node) {
      clear(empty);
      emptyRoot = null;
      return;
    }
    if (!emptyRoot) {
      empty.append(node);
      emptyRoot = node;
    } else emptyRoot = morph(emptyRoot, node);
  }

  function rerender() {
    update(ctx.store.state);
  }

  // --- interaction ------------------------------------------------------------
  select.addEventListener('change', () => {
    net = select.value;
    selected = '';
    hover = '';
    userView = false;
    setQuery();
    rerender();
  });
  labels.addEventListener('change', () => {
    labelsPref = labels.checked;
    focus();
  });
  function zoomAt(px, py, factor) {
    const k = Math.min(6, Math.max(0.15, tf.k * factor));
    tf = { k, x: px - ((px - tf.x) * k) / tf.k, y: py - ((py - tf.y) * k) / tf.k };
    userView = true;
    applyTransform();
  }
  el.addEventListener('click', (e) => {
    const t = e.target.closest('[data-action]');
    if (!t) return;
    const r = svg.getBoundingClientRect();
    const a = t.getAttribute('data-action');
    if (a === 'zoom-in') zoomAt(r.width / 2, r.height / 2, 1.3);
    else if (a === 'zoom-out') zoomAt(r.width / 2, r.height / 2, 1 / 1.3);
    else if (a === 'fit') {
      userView = false;
      fit();
    } else if (a === 'clear') select1('');
  });
  function select1(id) {
    selected = id;
    setQuery();
    rerender();
  }
  svg.addEventListener('wheel', (e) => {
    e.preventDefault();
    const r = svg.getBoundingClientRect();
    zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
  }, { passive: false });

  const pointers = new Map(); // pointerId → {x, y}
  let drag = null; // {kind: 'node'|'pan'|'pinch', id, sx, sy, moved, ...}
  svg.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    svg.setPointerCapture(e.pointerId);
    if (pointers.size === 2) {
      const [p1, p2] = [...pointers.values()];
      drag = { kind: 'pinch', d: Math.hypot(p1.x - p2.x, p1.y - p2.y), moved: true };
      return;
    }
    const g = e.target.closest('.node');
    drag = g
      ? { kind: 'node', id: g.getAttribute('data-id'), sx: e.clientX, sy: e.clientY, moved: false }
      : { kind: 'pan', sx: e.clientX, sy: e.clientY, tx: tf.x, ty: tf.y, moved: false };
  });
  svg.addEventListener('pointermove', (e) => {
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (!drag) {
      const g = e.target.closest && e.target.closest('.node');
      const id = g ? g.getAttribute('data-id') : '';
      if (id !== hover && e.pointerType === 'mouse') {
        hover = id;
        focus();
        if (current) infoRoot = morph(infoRoot, infoPanel(ctx.store.state, current));
      }
      return;
    }
    if (drag.kind === 'pinch') {
      if (pointers.size < 2) return;
      const [p1, p2] = [...pointers.values()];
      const d = Math.hypot(p1.x - p2.x, p1.y - p2.y);
      const r = svg.getBoundingClientRect();
      zoomAt((p1.x + p2.x) / 2 - r.left, (p1.y + p2.y) / 2 - r.top, d / (drag.d || d));
      drag.d = d;
      return;
    }
    const dx = e.clientX - drag.sx, dy = e.clientY - drag.sy;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    if (drag.kind === 'pan') {
      tf = { ...tf, x: drag.tx + dx, y: drag.ty + dy };
      userView = true;
      applyTransform();
    } else {
      const r = svg.getBoundingClientRect();
      const p = pos.get(drag.id);
      if (!p) return;
      p.x = (e.clientX - r.left - tf.x) / tf.k;
      p.y = (e.clientY - r.top - tf.y) / tf.k;
      p.fixed = true;
      geometry();
    }
  });
  function endPointer(e) {
    pointers.delete(e.pointerId);
    if (!drag) return;
    const d = drag;
    if (pointers.size === 0) drag = null;
    if (d.kind === 'pinch' || d.moved) return;
    if (d.kind === 'node') select1(selected === d.id ? '' : d.id);
    else if (selected) select1('');
  }
  svg.addEventListener('pointerup', endPointer);
  svg.addEventListener('pointercancel', (e) => {
    pointers.delete(e.pointerId);
    drag = null;
  });
  svg.addEventListener('pointerleave', (e) => {
    if (e.pointerType === 'mouse' && hover && !drag) {
      hover = '';
      focus();
      if (current) infoRoot = morph(infoRoot, infoPanel(ctx.store.state, current));
    }
  });
  svg.addEventListener('focusin', (e) => {
    const g = e.target.closest('.node');
    hover = g ? g.getAttribute('data-id') : '';
    focus();
    if (current) infoRoot = morph(infoRoot, infoPanel(ctx.store.state, current));
  });
  svg.addEventListener('focusout', () => {
    hover = '';
    focus();
  });
  svg.addEventListener('keydown', (e) => {
    const g = e.target.closest('.node');
    if (g && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      const id = g.getAttribute('data-id');
      select1(selected === id ? '' : id);
    }
  });
  function onKey(e) {
    if (e.key === 'Escape' && (selected || hover)) {
      hover = '';
      select1('');
    }
  }
  document.addEventListener('keydown', onKey);
  const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(() => { if (!userView) fit(); }) : null;
  if (ro) ro.observe(svg);

  return {
    el,
    title: () => 'Graph',
    update,
    routeChanged() {
      const qn = ctx.route.query.get('network') || '';
      if (qn && qn !== net) {
        net = qn;
        userView = false;
      }
      selected = ctx.route.query.get('node') || '';
      rerender();
    },
    destroy() {
      document.removeEventListener('keydown', onKey);
      if (ro) ro.disconnect();
    },
  };
}
