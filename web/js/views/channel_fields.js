// Settings fields per channel kind. Secrets are write-only: the server only says whether each
// is set, so the form offers a "replace" field and never shows a value.
export const CHANNEL_FIELDS = {
  email: [
    ['address', 'Inbox address', 'text'], ['from_name', 'From name', 'text'],
    ['imap_host', 'IMAP host', 'text'], ['imap_port', 'IMAP port', 'number'],
    ['imap_security', 'IMAP security', 'select', ['ssl', 'starttls', 'none']],
    ['imap_username', 'IMAP username', 'text'], ['imap_password', 'IMAP password', 'secret'],
    ['imap_mailbox', 'IMAP mailbox', 'text'],
    ['smtp_host', 'SMTP host', 'text'], ['smtp_port', 'SMTP port', 'number'],
    ['smtp_security', 'SMTP security', 'select', ['starttls', 'ssl', 'none']],
    ['smtp_username', 'SMTP username', 'text'], ['smtp_password', 'SMTP password', 'secret'],
  ],
  webchat: [
    ['appearance.title', 'Widget title', 'text'], ['appearance.color', 'Colour', 'color'],
    ['appearance.greeting', 'Greeting', 'text'], ['appearance.reply_time', 'Reply-time text', 'text'],
    ['allowed_origins', 'Allowed origins', 'list', 'One origin per line, e.g. https://shop.example'],
    ['pre_chat', 'Pre-chat form', 'json', '{"enabled": true, "fields": [{"name": "email", "required": true}]}'],
    ['identity_verification', 'Identity verification', 'select', ['off', 'optional', 'required']],
    ['hmac_secret', 'Identity HMAC secret', 'secret'],
  ],
  telegram: [
    ['mode', 'Mode', 'select', ['webhook', 'polling']],
    ['bot_token', 'Bot token', 'secret'], ['secret_token', 'Webhook secret token', 'secret'],
  ],
  messenger: [
    ['page_id', 'Page id', 'text'],
    ['access_token', 'Page access token', 'secret'], ['app_secret', 'App secret', 'secret'],
    ['verify_token', 'Verify token', 'secret'],
  ],
  instagram: [
    ['account_id', 'Instagram account id', 'text'],
    ['access_token', 'Access token', 'secret'], ['app_secret', 'App secret', 'secret'],
    ['verify_token', 'Verify token', 'secret'],
  ],
  whatsapp: [
    ['phone_number_id', 'Phone number id', 'text'],
    ['access_token', 'Access token', 'secret'], ['app_secret', 'App secret', 'secret'],
    ['verify_token', 'Verify token', 'secret'],
  ],
  api: [
    ['webhook_url', 'Webhook URL (outbound)', 'text'],
    ['inbound_token', 'Inbound token', 'secret'], ['webhook_secret', 'Webhook signing secret', 'secret'],
  ],
};

export function getPath(obj, path) {
  return path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj);
}

export function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}
