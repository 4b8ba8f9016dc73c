// Desktop notification + a short beep when a conversation becomes assigned to me.
import { t } from './i18n.js';

let audioCtx = null;

function beep() {
  try {
    audioCtx = audioCtx || new AudioContext();
    const osc = audioCtx.createOscillator();
    const gain = audioCtx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, audioCtx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, audioCtx.currentTime + 0.3);
    osc.connect(gain).connect(audioCtx.destination);
    osc.start();
    osc.stop(audioCtx.currentTime + 0.3);
  } catch { /* audio blocked until the user interacts: fine */ }
}

export function requestPermission() {
  if ('Notification' in window && Notification.permission === 'default') {
    Notification.requestPermission().catch(() => {});
  }
}

/** Called with the conversation as it was before an event and the event itself. */
export function notifyAssigned(store, before, event) {
  const conv = event.payload && event.payload.conversation;
  if (!conv || !store.me || conv.assignee_id !== store.me.id) return;
  if (before && before.assignee_id === store.me.id) return;
  const who = (conv.contact && conv.contact.name) || t('notify.conversation', { id: conv.id });
  beep();
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
    const n = new Notification(t('notify.assigned'), { body: who, tag: `conv-${conv.id}` });
    n.onclick = () => { window.focus(); location.hash = `#/inbox/${conv.id}`; };
  }
}
