// Channel kinds → an icon glyph and a readable name (the glyph is decorative; the name is read).
const CHANNELS = {
  email: ['✉', 'Email'],
  webchat: ['☺', 'Live chat'],
  telegram: ['✈', 'Telegram'],
  messenger: ['ⓜ', 'Messenger'],
  instagram: ['◎', 'Instagram'],
  whatsapp: ['✆', 'WhatsApp'],
  api: ['⚙', 'API'],
};

export function channelInfo(kind) {
  const [icon, name] = CHANNELS[kind] || ['•', kind || 'Unknown'];
  return { icon, name };
}

export const CHANNEL_KINDS = Object.keys(CHANNELS);
