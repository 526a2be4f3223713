// notices.js - messages on the page: errors stay until closed, others fade; a key replaces an
// earlier notice with the same key.

const box = () => document.getElementById('notices');

/** Show a message on the page. Errors stay until closed; a key replaces an earlier notice. */
export function notify(kind, message, { key, timeout } = {}) {
  if (key) box().querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
  const el = document.createElement('div');
  el.className = `notice ${kind}`;
  el.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  if (key) el.dataset.key = key;
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.onclick = () => el.remove();
  el.append(text, close);
  box().append(el);
  const ms = timeout ?? (kind === 'error' || kind === 'warning' ? 0 : 7000);
  if (ms) setTimeout(() => el.remove(), ms);
  return el;
}

export const clearNotice = (key) => box().querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
