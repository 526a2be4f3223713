// saved_models.js - models kept in the browser (IndexedDB) and the list of them on the page.

import { formatCount } from './chart.js';
import { fmtBytes } from './format.js';
import { notify } from './notices.js';

const $ = (id) => document.getElementById(id);

// IndexedDB: one object store of { key, name, bytes, savedAt, summary }.
function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open('lstm-wasm-demo', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('models', { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`The browser storage is not available: ${req.error?.message ?? 'unknown error'}`));
  });
}

async function dbRequest(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction('models', mode);
      const req = fn(tx.objectStore('models'));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(new Error(tx.error?.name === 'QuotaExceededError' ? 'The browser storage is full: delete saved models or download this one instead.' : `Browser storage failed: ${tx.error?.message}`));
      tx.onabort = tx.onerror;
    });
  } finally {
    db.close();
  }
}

/** Keep a record { key, name, bytes, savedAt, summary: { chars, val, size, parameters } }. */
export const storeModel = (record) => dbRequest('readwrite', (store) => store.put(record));

/** List the saved models; `load(bytes, label)` opens one. */
export async function showSaved(load) {
  let records;
  try {
    records = await dbRequest('readonly', (store) => store.getAll());
  } catch (e) {
    $('saved-list').innerHTML = '';
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = e.message;
    $('saved-list').append(li);
    return;
  }
  records.sort((a, b) => b.savedAt.localeCompare(a.savedAt));
  const list = $('saved-list');
  list.innerHTML = '';
  if (!records.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'Nothing saved yet.';
    list.append(li);
    return;
  }
  for (const r of records) {
    const li = document.createElement('li');
    const info = document.createElement('div');
    info.className = 'saved-info';
    const name = document.createElement('strong');
    name.textContent = r.name;
    const meta = document.createElement('span');
    meta.className = 'muted';
    const when = new Date(r.savedAt).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    meta.textContent = `${when} · ${formatCount(r.summary.chars)} chars${r.summary.val != null ? ` · val ${r.summary.val.toFixed(3)}` : ''} · ${fmtBytes(r.summary.size)}`;
    info.append(name, meta);
    const load = document.createElement('button');
    load.type = 'button';
    load.className = 'button small';
    load.dataset.action = 'load';
    load.textContent = 'Load';
    load.onclick = async () => {
      const rec = await dbRequest('readonly', (store) => store.get(r.key)).catch((e) => notify('error', e.message));
      if (rec) await load(new Uint8Array(rec.bytes), `“${rec.name}” from this browser`);
    };
    const del = document.createElement('button');
    del.type = 'button';
    del.className = 'button small subtle';
    del.textContent = 'Delete';
    del.onclick = async () => {
      await dbRequest('readwrite', (store) => store.delete(r.key)).catch((e) => notify('error', e.message));
      await showSaved(load);
    };
    li.append(info, load, del);
    list.append(li);
  }
}
