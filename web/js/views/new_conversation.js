// "New conversation": an agent writes first — an email to an address, or a WhatsApp
// template to a phone number (docs/outreach.md). Other channels' customers write first.
import { api } from '../api.js';
import { h, option, replace, errorText } from '../dom.js';
import { t } from '../i18n.js';

const CAN_START = ['email', 'whatsapp'];

export function openNewConversation(app) {
  const inboxes = (app.store.inboxes || []).filter((i) => CAN_START.includes(i.kind));
  const dialog = h('dialog', { id: 'new-conversation', 'aria-labelledby': 'new-conv-title' });
  document.body.appendChild(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  if (!inboxes.length) {
    replace(dialog, h('h2', { id: 'new-conv-title', text: t('newConv.title') }), h('p', { text: t('newConv.none') }),
      h('form', { method: 'dialog' }, h('button', { text: t('newConv.cancel') })));
    dialog.showModal();
    return;
  }
  const inbox = h('select', { id: 'new-conv-inbox' }, inboxes.map((i) => option(i.id, i.name)));
  const fields = h('div', { class: 'new-conv-fields' });
  const error = h('p', { class: 'error', id: 'new-conv-error', role: 'alert' });
  const send = h('button', { type: 'submit', class: 'primary', text: t('newConv.send') });
  const form = h('form', { class: 'new-conv' }, h('h2', { id: 'new-conv-title', text: t('newConv.title') }),
    h('label', {}, t('newConv.inbox'), inbox), fields, error,
    h('div', { class: 'row' }, send, h('button', { type: 'button', text: t('newConv.cancel'), onclick: () => dialog.close() })));
  replace(dialog, form);
  const kindOf = () => inboxes.find((i) => String(i.id) === inbox.value).kind;
  const input = (id, label, attrs) => h('label', {}, label, h('input', { id, ...attrs }));
  function drawFields() {
    if (kindOf() === 'email') {
      replace(fields, input('new-conv-email', t('newConv.to'), { type: 'email', required: true, autocomplete: 'off' }),
        input('new-conv-name', t('newConv.name'), {}), input('new-conv-subject', t('newConv.subject'), { required: true, maxlength: 1000 }),
        h('label', {}, t('newConv.text'), h('textarea', { id: 'new-conv-text', required: true, rows: 6 })));
    } else {
      replace(fields, input('new-conv-phone', t('newConv.phone'), { type: 'tel', required: true, placeholder: '+48 500 100 200' }),
        input('new-conv-name', t('newConv.name'), {}), input('new-conv-template', t('newConv.template'), { required: true }),
        input('new-conv-language', t('newConv.language'), { required: true, value: 'en', maxlength: 16 }));
    }
  }
  inbox.addEventListener('change', drawFields);
  drawFields();
  const value = (id) => { const el = dialog.querySelector(`#${id}`); return el ? el.value.trim() : ''; };
  const clientId = crypto.randomUUID();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    send.disabled = true;
    send.textContent = t('newConv.sending');
    const body = { inbox_id: Number(inbox.value), name: value('new-conv-name') || null, client_id: clientId };
    if (kindOf() === 'email') Object.assign(body, { email: value('new-conv-email'), subject: value('new-conv-subject'), text: value('new-conv-text') });
    else Object.assign(body, { phone: value('new-conv-phone'), text: '', template: { name: value('new-conv-template'), language: value('new-conv-language') } });
    try {
      const made = await api.post('/api/conversations', body);
      dialog.close();
      location.hash = `#/inbox/${made.conversation.id}`;
    } catch (err) {
      error.textContent = errorText(err, { email: t('newConv.to'), phone: t('newConv.phone'), subject: t('newConv.subject'), text: t('newConv.text'), template: t('newConv.template') });
    } finally {
      send.disabled = false;
      send.textContent = t('newConv.send');
    }
  });
  dialog.showModal();
}
