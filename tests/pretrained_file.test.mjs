// pretrained_file.test.mjs - the demo's committed pretrained model, web/pretrained/brown.lstm, is
// what `make pretrained` says it makes: the page's recipe (2 x 192 float LSTM, no training
// state) at the Makefile's step count, trained on the default corpus the demo builds (the page
// recognises that text by its fingerprint), within the size budget, and a model that knows
// English: its loss on the start of the corpus's validation part.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Corpus, Model, Session, TextDataset, TokenStream } from '../dist/lstm.js';
import { extractBrown } from '../tools/build-demo.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILE = path.join(ROOT, 'web/pretrained/brown.lstm');
const MAX_BYTES = 3 * 1024 * 1024;   // issue 14's budget
const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');
const setting = (name) => Number(new RegExp(`^${name}\\s*:=\\s*(\\d+)`, 'm').exec(makefile)?.[1]);

test('web/pretrained/brown.lstm: the page\'s recipe, at the Makefile\'s steps, on the default corpus, under 3 MB', async () => {
  const bytes = readFileSync(FILE);
  assert.ok(bytes.length <= MAX_BYTES, `${bytes.length} bytes`);
  const model = await Model.load(bytes);
  try {
    const recipe = Session.defaults();
    assert.equal(model.quantized, false, 'float weights: the page fine-tunes it');
    assert.equal(model.config.layers, recipe.layers);
    assert.equal(model.config.hiddenSize, recipe.hiddenSize);
    assert.equal(model.config.cell, 'lstm');
    assert.equal(model.stepCount, 0, 'saved without the training state');
    const meta = Session.readMetadata(model);
    assert.equal(meta.from, 'session');
    assert.equal(meta.progress.steps, setting('PRETRAINED_STEPS'));
    assert.equal(meta.settings.epochs, setting('PRETRAINED_EPOCHS'));
    assert.equal(meta.settings.batchSize, recipe.batchSize);
    assert.equal(meta.settings.seqLength, recipe.seqLength);
    const { text } = await extractBrown();
    const corpus = new Corpus(text);
    assert.equal(meta.corpus.fingerprint, corpus.fingerprint, 'the text the demo builds, byte for byte');
    assert.deepEqual(Array.from(model.vocabulary.codePoints), Array.from(corpus.vocab.codePoints));
    // the first 20,000 characters of the validation part (the whole of it is docs/demo.md's
    // figure): a model that has learnt English is far below the unigram entropy (~3 nats)
    const data = new TextDataset(text, model.vocabulary, { validationFraction: meta.settings.validationFraction });
    const start = new TokenStream(data.validation.ids.subarray(0, 20_000));
    const loss = model.evaluate(start, { batchSize: 16, seqLength: 128 });
    start.dispose();
    data.dispose();
    console.log(`  ${(bytes.length / 1e6).toFixed(2)} MB, ${model.parameterCount} parameters, ${meta.progress.steps} steps (${meta.progress.chars} characters); loss ${loss.toFixed(3)} nats/char on the first 20k validation characters`);
    assert.ok(loss < 1.8, `loss ${loss}`);
  } finally {
    model.dispose();
  }
});
