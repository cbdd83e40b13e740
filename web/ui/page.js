// page.js: the frame of a screen that re-renders from state and morphs
// the DOM, with one delegated listener for its controls.

import { h, morph } from './dom.js';

/**
 * morphPage builds a screen from
 *   render(state, page) → Node    the whole screen, built fresh each time;
 *   title(state) → string         the document title;
 *   onAction(action, el, event)   a click on an element with data-action;
 *   onChange(el, event)           a change of a form control;
 *   mount(page), destroy()        optional set-up and tear-down.
 * The page object has el, update(state), rerender(), title(state), destroy().
 */
export function morphPage(ctx, spec) {
  const el = h('div', { class: 'page' });
  let root = null;
  const page = {
    el,
    ctx,
    title: (state) => spec.title(state),
    update(state) {
      const next = spec.render(state, page);
      if (!root) {
        el.appendChild(next);
        root = next;
      } else {
        root = morph(root, next);
      }
      if (spec.afterRender) spec.afterRender(state, page);
    },
    rerender() {
      page.update(ctx.store.state);
    },
    routeChanged() {
      if (spec.routeChanged) spec.routeChanged(page);
      page.rerender();
    },
    destroy() {
      if (spec.destroy) spec.destroy(page);
    },
  };
  el.addEventListener('click', (e) => {
    const t = e.target.closest('[data-action]');
    if (t && el.contains(t) && spec.onAction) spec.onAction(t.getAttribute('data-action'), t, e, page);
  });
  el.addEventListener('change', (e) => {
    if (spec.onChange) spec.onChange(e.target, e, page);
  });
  if (spec.mount) spec.mount(page);
  return page;
}
