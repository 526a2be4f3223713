// example.ts - a typed use of the lstm-wasm API. tests/package.test.mjs compiles it against
// the packed package (strict, with nodenext and with bundler resolution) and runs the output.
// The @ts-expect-error lines prove the declarations are checked, not `any`: each must fail.
import {
  Model, Vocabulary, TextDataset, TokenStream, LstmError, Corpus, Session, init, buildInfo, simdSupported,
  type GenerateOptions, type ModelConfig, type OptimizerOptions, type TensorInfo, type TrainStats,
  type TrainReport, type SessionMetadata, type SessionEstimate, TrainingWorker, type SessionProgress, type RunResult,
} from 'lstm-wasm';

export async function run(text: string): Promise<string> {
  await init({ simd: simdSupported() });
  const info: { simd: boolean; kernels: string } = await buildInfo();
  const vocab: Vocabulary = Vocabulary.fromText(text);
  const ids: Int32Array = vocab.encode(text);
  const data = new TextDataset(text, vocab, { validationFraction: 0.1 });
  const model: Model = await Model.create({ vocabSize: vocab.size, hiddenSize: 32, layers: 1, seed: 1, dropout: 0.1 });
  const optimizer: OptimizerOptions = { type: 'adam', learningRate: 3e-3, clipNorm: 5 };
  const stats: TrainStats = model.trainSteps(data, { steps: 8, seqLength: 16, batchSize: 4, optimizer });
  const validation: number = model.evaluate(data);
  const config: ModelConfig = model.config;
  const tensors: TensorInfo[] = model.tensors();
  const options: GenerateOptions = { prompt: text.slice(0, 3), length: 20, temperature: 0.8, topK: 5, seed: 1 };
  let streamed = '';
  for await (const ch of model.generateStream(vocab, { ...options, length: 5 })) streamed += ch;
  const generated: string = model.generate(options);
  const logits: Float32Array = model.step(ids[0]);
  const copy = await Model.load(model.save({ trainingState: false }));
  let code = '';
  try {
    copy.step(vocab.size + 1);
  } catch (e) {
    if (e instanceof LstmError) code = e.code;
  }
  const stream = new TokenStream(ids);
  const again: number = copy.evaluate(stream, { batchSize: 2, seqLength: 8 });
  stream.dispose();
  copy.dispose();
  model.dispose();
  data.dispose();
  // the training session the demo and the command line run
  const corpus = new Corpus(text, { name: 'text' });
  const estimate: SessionEstimate = await Session.estimate({ hiddenSize: 32, layers: 1 }, { vocabSize: corpus.vocab.size, chars: corpus.chars });
  const session: Session = await Session.create(corpus, { hiddenSize: 32, layers: 1, seqLength: 16, batchSize: 4 });
  const report: TrainReport = session.train({ steps: 20, seconds: 60 });
  const reopened = await Session.open(session.save());
  const meta: SessionMetadata = reopened.metadata();
  const sameModel = estimate.parameters === reopened.model.parameterCount;
  // the same session on another thread: the same file
  const worker: TrainingWorker = await TrainingWorker.create();
  const progress: SessionProgress[] = [];
  worker.addEventListener('progress', (e) => { if (e.detail.task === 'session') progress.push(e.detail); });
  await worker.createSession(corpus, { hiddenSize: 32, layers: 1, seqLength: 16, batchSize: 4 });
  const run: RunResult = await worker.train({ steps: 20 });
  const fromWorker: Uint8Array = await worker.save();
  const sameFile = fromWorker.join() === session.save().join() && progress.at(-1)?.steps === 20;
  worker.dispose();
  session.dispose();
  reopened.dispose();
  return [
    `simd ${info.simd}`, `hidden ${config.hiddenSize}`, `tensors ${tensors.length}`, `logits ${logits.length}`,
    `loss ${stats.loss.toFixed(3)}`, `validation ${validation.toFixed(3)}`, `copy ${again.toFixed(3)}`,
    `error ${code}`, `streamed ${[...streamed].length}`, `generated ${[...generated].length}`,
    `session ${report.steps} steps ${meta.progress.steps} saved ${sameModel}`, `worker ${run.steps} steps same file ${sameFile}`,
  ].join(', ');
}

/** Never called: each line must be a type error. */
export function typeErrors(model: Model, data: TextDataset, vocab: Vocabulary): void {
  // @ts-expect-error hiddenSize is a number
  void Model.create({ vocabSize: 3, hiddenSize: '32' });
  // @ts-expect-error trainSteps has no "epochs" option
  model.trainSteps(data, { epochs: 3 });
  // @ts-expect-error the optimizer type is 'adam' | 'rmsprop' | 'sgd'
  model.setOptimizer({ type: 'adagrad' });
  // @ts-expect-error config is read-only
  model.config.hiddenSize = 3;
  // @ts-expect-error generate returns a string
  const n: number = model.generate(vocab, { length: 3 });
  // @ts-expect-error init takes options, not a URL
  void init('/lstm-simd.wasm');
  // @ts-expect-error a session's schedule is 'cosine' or 'constant'
  void Session.create(new Corpus('abc'), { schedule: 'linear' });
  // @ts-expect-error a worker's run takes steps or seconds, not epochs
  void TrainingWorker.create().then((w) => w.train({ epochs: 3 }));
  void n;
}

console.log(await run('the quick brown fox jumps over the lazy dog. '.repeat(20)));
