// Saved views in the inbox sidebar (docs/views.md): personal and shared filter sets with
// live counts; one click applies a view, "Save these filters" keeps the current ones.
import { api } from '../api.js';
import { h, replace, errorText } from '../dom.js';
import { t, tn } from '../i18n.js';

const REFRESH_MS = 2000; // counts follow live changes, at most every 2 s

export class SavedViews {
  constructor(app, currentFilters, apply) {
    this.app = app;
    this.current = currentFilters;
    this.apply = apply;
    this.list = h('ul', { class: 'saved-views', id: 'saved-views' });
    this.form = h('div', { class: 'saved-view-form' });
    this.el = h('details', { class: 'views-box', open: true },
      h('summary', { text: t('views.title') }), this.list,
      h('button', { type: 'button', class: 'ghost small', id: 'save-view', text: t('views.save'), onclick: () => this.askName() }),
      this.form);
    this.timer = null;
    this.unsubscribe = app.store.subscribe((change) => { if (change.kind === 'conversation') this.soon(); });
    this.load();
  }

  destroy() { this.unsubscribe(); clearTimeout(this.timer); }

  soon() {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.load(); }, REFRESH_MS);
  }

  async load() {
    try {
      const { items } = await api.get('/api/views');
      replace(this.list, items.length ? items.map((v) => this.row(v)) : h('li', { class: 'muted small', text: t('views.none') }));
    } catch (err) {
      replace(this.list, h('li', { class: 'muted small', text: t('views.unavailable') }));
    }
  }

  row(view) {
    const open = h('button', { type: 'button', class: 'view-link', dataset: { view: String(view.id) },
      onclick: () => this.apply(view.filters) },
    h('span', { class: 'view-name', text: view.name }),
    view.shared ? h('span', { class: 'muted small', text: ` · ${t('views.shared')}` }) : null,
    h('span', { class: 'view-count', 'aria-label': tn('views.count', view.count), text: String(view.count) }));
    const canDelete = view.mine && (!view.shared || this.app.isAdmin);
    const del = canDelete ? h('button', { type: 'button', class: 'ghost small', 'aria-label': t('views.remove', { name: view.name }), text: '×',
      onclick: async () => { try { await api.del(`/api/views/${view.id}`); this.load(); } catch (err) { this.load(); } } }) : null;
    return h('li', {}, open, del);
  }

  askName() {
    const name = h('input', { id: 'view-name', maxlength: 80, required: true, 'aria-label': t('views.name'), placeholder: t('views.name') });
    const share = h('input', { type: 'checkbox', id: 'view-shared' });
    const error = h('p', { class: 'error small', role: 'alert' });
    const form = h('form', {},
      name, this.app.isAdmin ? h('label', { class: 'small' }, share, ` ${t('views.share')}`) : null,
      h('button', { type: 'submit', class: 'primary small', text: t('views.ok') }),
      h('button', { type: 'button', class: 'ghost small', text: t('views.cancel'), onclick: () => replace(this.form) }), error);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const filters = {};
      for (const [k, v] of Object.entries(this.current())) if (v !== '' && v !== null && v !== undefined) filters[k] = String(v);
      try {
        await api.post('/api/views', { name: name.value.trim(), shared: share.checked, filters });
        replace(this.form);
        this.load();
      } catch (err) { error.textContent = errorText(err, { name: t('views.name') }); }
    });
    replace(this.form, form);
    name.focus();
  }
}
