// eval.mjs - "lstm-wasm eval": a model's loss on a text file, in nats and bits per character,
// measured as training measures it (Session.evaluate, on the cleaned text).

import path from 'node:path';
import { PROG, UsageError, parse, number, choice, readCorpus, openSession, textError, bits, fmtInt, fmtLoss } from './common.mjs';

export const help = `Usage: ${PROG} eval <model.lstm> <text.txt> [options]

The model's mean cross-entropy on the text, in nats and bits per character, without dropout.
  --part PART           validation: the part training holds out (the last --val of the text,
                        default); text: all of it
  --val F               the validation fraction (default: the model's, else 0.1)
  --json                the result as one JSON object`;

export async function evaluate(args) {
  const { values: o, positionals } = parse('eval', args, { part: { type: 'string' }, val: { type: 'string' }, json: { type: 'boolean' } });
  if (o.help) return console.log(help);
  if (positionals.length !== 2) throw new UsageError(`eval takes a model file and a text file (see "${PROG} eval --help"), got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  const [file, textFile] = positionals;
  const part = choice('part', o.part ?? 'validation', ['validation', 'text']);
  const fraction = number('val', o.val, { min: 0, max: 0.5 });
  if (part === 'validation' && fraction === 0) throw new UsageError('--val 0 leaves no validation part: use --part text for the whole text');
  const corpus = readCorpus(textFile);
  const session = await openSession(file);
  try {
    // nothing trains: a 1 x 1 batch lets a text of any length in
    session.configure({ batchSize: 1, seqLength: 1, ...(fraction !== undefined ? { validationFraction: fraction } : {}) });
    try {
      session.attach(corpus);
    } catch (e) {
      throw textError(`${textFile} cannot be measured with ${file}`, e);
    }
    const f = session.settings.validationFraction;
    const chars = part === 'text' ? corpus.chars : Math.floor(corpus.chars * f);
    const nats = session.evaluate({ part });
    if (o.json) {
      console.log(JSON.stringify({ model: path.resolve(file), text: path.resolve(textFile), part, validationFraction: part === 'text' ? null : f, chars, nats, bits: bits(nats) }, null, 2));
      return 0;
    }
    const where = part === 'text' ? 'the whole text' : `its last ${+(f * 100).toFixed(2)}%, the part training holds out`;
    console.log(`${file} on ${textFile} (${where}, ${fmtInt(chars)} characters): ${fmtLoss(nats)}`);
    return 0;
  } finally {
    session.dispose();
  }
}
