// layout.js: a small deterministic force layout for the graph. Members
// start on a circle (sorted by id) and are pushed apart, pulled together
// along live links and towards the centre. No randomness: the same
// network always gets the same picture.

/**
 * layout returns a Map id → {x, y} for ids. links are [a, b] pairs that
 * attract; keep holds positions to reuse (pinned or already placed) and
 * ids without one are placed on the circle first.
 */
export function layout(ids, links, keep = new Map(), iterations = 300) {
  const n = ids.length;
  const pos = new Map();
  const spacing = n > 12 ? 46 : 170; // wanted distance between neighbours, px
  const radius = Math.max(n > 1 ? 140 : 0, (n * spacing) / (2 * Math.PI));
  ids.forEach((id, i) => {
    const k = keep.get(id);
    if (k) pos.set(id, { x: k.x, y: k.y, fixed: !!k.fixed });
    else {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
      pos.set(id, { x: radius * Math.cos(a), y: radius * Math.sin(a), fixed: false });
    }
  });
  // A small network, or a complete or nearly complete mesh, is best drawn
  // as the circle itself: every member on the rim, no link hidden behind
  // another member.
  const possible = (n * (n - 1)) / 2;
  if (n <= 12 || links.length >= possible * 0.9 || keep.size === n) return pos;

  const ideal = spacing * 1.6;
  const pts = ids.map((id) => pos.get(id));
  const idx = new Map(ids.map((id, i) => [id, i]));
  const springs = links.filter(([a, b]) => idx.has(a) && idx.has(b)).map(([a, b]) => [idx.get(a), idx.get(b)]);
  let temp = radius / 4;
  for (let it = 0; it < iterations; it++) {
    const fx = new Float64Array(n);
    const fy = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pts[i].x - pts[j].x;
        let dy = pts[i].y - pts[j].y;
        let d2 = dx * dx + dy * dy;
        if (d2 < 0.01) {
          dx = 0.1 * (i - j);
          dy = 0.1;
          d2 = dx * dx + dy * dy;
        }
        const f = (ideal * ideal) / d2; // repulsion ~ 1/d
        fx[i] += dx * f;
        fy[i] += dy * f;
        fx[j] -= dx * f;
        fy[j] -= dy * f;
      }
    }
    for (const [i, j] of springs) {
      const dx = pts[j].x - pts[i].x;
      const dy = pts[j].y - pts[i].y;
      const d = Math.sqrt(dx * dx + dy * dy) || 0.01;
      const f = d / ideal; // attraction ~ d
      fx[i] += dx * f;
      fy[i] += dy * f;
      fx[j] -= dx * f;
      fy[j] -= dy * f;
    }
    for (let i = 0; i < n; i++) {
      fx[i] -= pts[i].x * 0.05; // gravity keeps islands close
      fy[i] -= pts[i].y * 0.05;
      if (pts[i].fixed) continue;
      const m = Math.sqrt(fx[i] * fx[i] + fy[i] * fy[i]) || 1;
      const step = Math.min(m, temp);
      pts[i].x += (fx[i] / m) * step;
      pts[i].y += (fy[i] / m) * step;
    }
    temp = Math.max(temp * 0.97, 0.5);
  }
  return pos;
}
