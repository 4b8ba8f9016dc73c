// Global keyboard shortcuts; ignored while typing in a field.
export function installShortcuts(app) {
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
    if (document.querySelector('dialog[open]')) return;
    const view = app.view;
    const actions = {
      '?': () => document.getElementById('help').showModal(),
      j: () => view && view.step && view.step(1),
      k: () => view && view.step && view.step(-1),
      r: () => view && view.focusComposer && view.focusComposer(false),
      n: () => view && view.focusComposer && view.focusComposer(true),
      e: () => view && view.resolveCurrent && view.resolveCurrent(),
      '/': () => { const s = document.getElementById('search'); if (s) s.focus(); },
    };
    const fn = actions[e.key];
    if (fn) { e.preventDefault(); fn(); }
  });
}
