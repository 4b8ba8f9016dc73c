// Channel kinds → an icon glyph and a readable name (the glyph is decorative; the name is read).
import { t } from './i18n.js';

const CHANNELS = {
  email: ['✉', 'channel.email'],
  webchat: ['☺', 'channel.webchat'],
  telegram: ['✈', 'Telegram'],
  messenger: ['ⓜ', 'Messenger'],
  instagram: ['◎', 'Instagram'],
  whatsapp: ['✆', 'WhatsApp'],
  api: ['⚙', 'API'],
};

export function channelInfo(kind) {
  const [icon, name] = CHANNELS[kind] || ['•', null];
  if (name && name.startsWith('channel.')) return { icon, name: t(name) };
  return { icon, name: name || kind || t('channel.unknown') };
}

export const CHANNEL_KINDS = Object.keys(CHANNELS);
