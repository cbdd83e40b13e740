// dom.js: a tiny element builder and a DOM morph, so a screen can be
// rendered from scratch on every update while the page keeps its focus,
// its scroll position and its open rows.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h builds an HTML element: h('a', {href: '/', class: ['x', cond && 'y']}, 'text', child).
 * Attributes that are null, undefined or false are left out; true sets an
 * empty attribute. Children may be nodes, strings, numbers, arrays or
 * null/false (skipped). Event handlers are not attributes: screens use
 * data-action and one delegated listener.
 */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** s is h for SVG elements. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class' && Array.isArray(v)) {
        const c = v.filter(Boolean).join(' ');
        if (c) el.setAttribute('class', c);
        continue;
      }
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false || c === true) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

const keyOf = (n) => (n.nodeType === 1 ? n.getAttribute('data-key') : null);

/**
 * morph makes the live node `from` look like `to` (a freshly built tree),
 * touching only what differs. Children with a data-key attribute are
 * matched by key, the others by position and tag.
 */
export function morph(from, to) {
  if (from.nodeType !== to.nodeType || from.nodeName !== to.nodeName) {
    from.replaceWith(to);
    return to;
  }
  if (from.nodeType === 3 || from.nodeType === 8) {
    if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
    return from;
  }
  // Attributes.
  for (const a of Array.from(from.attributes)) {
    if (!to.hasAttribute(a.name)) from.removeAttribute(a.name);
  }
  for (const a of Array.from(to.attributes)) {
    if (from.getAttribute(a.name) !== a.value) from.setAttribute(a.name, a.value);
  }
  morphChildren(from, to);
  // Form state lives in properties, not attributes.
  if (from.nodeName === 'SELECT' || from.nodeName === 'INPUT' || from.nodeName === 'TEXTAREA') {
    if (from.type === 'checkbox' || from.type === 'radio') {
      if (from.checked !== to.checked) from.checked = to.checked;
    } else if (from !== document.activeElement && from.value !== to.value) {
      from.value = to.value;
    }
  }
  return from;
}

function morphChildren(parent, next) {
  const keyed = new Map();
  for (const c of parent.children) {
    const k = keyOf(c);
    if (k != null) keyed.set(k, c);
  }
  let cur = parent.firstChild;
  for (const nk of Array.from(next.childNodes)) {
    const key = keyOf(nk);
    let match = null;
    if (key != null) {
      const cand = keyed.get(key);
      if (cand && cand.nodeName === nk.nodeName) {
        match = cand;
        keyed.delete(key);
      }
    } else if (cur && keyOf(cur) == null && cur.nodeType === nk.nodeType && cur.nodeName === nk.nodeName) {
      match = cur;
    }
    if (match) {
      if (match === cur) cur = cur.nextSibling;
      else parent.insertBefore(match, cur);
      morph(match, nk);
    } else {
      parent.insertBefore(nk, cur);
    }
  }
  while (cur) {
    const n = cur.nextSibling;
    parent.removeChild(cur);
    cur = n;
  }
}

/** clear removes every child of el. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
}
