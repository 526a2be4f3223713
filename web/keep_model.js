// keep_model.js - the "Keep the model" card's two ways out: the model file downloaded (named
// after its text, size and training), or saved in this browser (saved_models.js lists them).

import { formatCount } from './chart.js';
import { fmtBytes } from './format.js';
import { notify } from './notices.js';
import { storeModel } from './saved_models.js';

let page = null;  // { app, worker(), guarded(action), refreshSaved() }

/** Give the card the page's state and helpers. */
export function initKeeping(dependencies) { page = dependencies; }

function modelFileName() {
  const { app } = page;
  const m = app.model;
  const corpus = (m.corpus?.name ?? 'model').replace(/[“”"]/g, '').replace(/\.[a-z0-9]+$/i, '').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '').toLowerCase() || 'model';
  const chars = app.progress?.chars ?? m.progress?.chars ?? 0;
  return `${corpus}-${m.config.layers}x${m.config.hiddenSize}-${formatCount(chars)}chars.lstm`;
}

/** Download the model's file (the session's: with its training state). */
export async function download() {
  const { app } = page;
  await page.guarded(async () => {
    const bytes = await page.worker().save();
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = modelFileName();
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    app.dirty = false;
    notify('success', `Downloaded ${a.download} (${fmtBytes(bytes.length)}).`);
  });
}

/** Keep the model's file in this browser's IndexedDB. */
export async function saveToBrowser() {
  const { app } = page;
  await page.guarded(async () => {
    const bytes = await page.worker().save();
    const m = app.model;
    const chars = app.progress?.chars ?? 0;
    const val = app.history.val.at(-1)?.[1];
    const savedAt = new Date().toISOString();
    const record = {
      key: `${savedAt}-${Math.random().toString(36).slice(2, 8)}`,
      name: `${m.corpus?.name ?? 'model'} · ${m.config.layers}×${m.config.hiddenSize}`,
      bytes,
      savedAt,
      summary: { chars, val, size: bytes.length, parameters: m.parameterCount },
    };
    await storeModel(record);
    app.dirty = false;
    notify('success', `Saved in this browser: ${record.name}.`);
    await page.refreshSaved();
  });
}
