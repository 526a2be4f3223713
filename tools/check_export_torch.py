#!/usr/bin/env python3
"""Check the export direction: a model trained with lstm-wasm gives the same logits in PyTorch.

    /usr/bin/python3 tools/check_export_torch.py                       # train one with node first
    /usr/bin/python3 tools/check_export_torch.py model.lstm expected.json

expected.json holds what lstm-wasm computed for the model: {"batch", "steps", "output_size",
"tokens": [[ids]] (or "inputs": flat B*T*X floats), "logits": flat B*T*V floats}, each
sequence from a zero state (the format of tests/fixtures/convert_*.json, which also works
here). Without arguments the script trains a small model with node and dist/lstm.js (run
`make all` first), saves it with its training state and writes these files in a temp dir.

Checks, through the converter's command line:
  1. from-lstm -> checkpoint; torch.load(weights_only=True); LstmWasmModel (one-hot input)
     reproduces the logits within float32 tolerance;
  2. the same with --embedding identity (an nn.Embedding(V, V) = I in front);
  3. to-lstm of that checkpoint gives back the same config, vocabulary and bit-identical
     parameters.
Prints the largest differences; exit status 0 when all hold, 1 otherwise.
"""

import json
import os
import subprocess
import sys
import tempfile

import torch

sys.dont_write_bytecode = True  # no tools/__pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_convert as tc  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATOL, RTOL = 2e-5, 1e-4  # float32 against float32, different summation orders

NODE_TRAIN = r"""
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
const [lib, out] = process.argv.slice(1);
const { Model, Vocabulary, TextDataset } = await import(lib);
const shakespeare = new URL('../shared/data/tinyshakespeare.txt', 'file://' + process.argv[3] + '/');
const text = existsSync(shakespeare) ? readFileSync(shakespeare, 'utf8').slice(0, 60000)
  : 'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.\n'.repeat(200);
const vocab = Vocabulary.fromText(text);
const data = new TextDataset(text, vocab, { validationFraction: 0.1 });
const model = await Model.create({ vocabSize: vocab.size, hiddenSize: 48, layers: 2, seed: 5, dropout: 0.1 });
const stats = model.trainSteps(data, { steps: 80, seqLength: 32, batchSize: 8, optimizer: { type: 'adam', learningRate: 3e-3 } });
writeFileSync(out + '/model.lstm', model.save());
const prompts = [text.slice(1000, 1040), text.slice(5000, 5040)];
const tokens = prompts.map((p) => Array.from(vocab.encode(p)));
const logits = [];
for (const seq of tokens) {
  model.resetInference();
  for (const t of seq) logits.push(...model.step(t));
}
writeFileSync(out + '/expected.json', JSON.stringify({ batch: tokens.length, steps: tokens[0].length,
  output_size: model.config.outputSize, tokens, logits, trained_steps: model.stepCount, loss: stats.loss }));
console.log(`node: trained ${model.stepCount} steps (loss ${stats.loss.toFixed(3)}), ${model.parameterCount} parameters, simd ${model.simd}`);
"""


def train_with_node(tmp):
    lib = os.path.join(ROOT, "dist", "lstm.js")
    if not os.path.exists(lib):
        raise SystemExit(f"{lib} is missing: run `make all` first")
    subprocess.run(["node", "--input-type=module", "-e", NODE_TRAIN, "file://" + lib, tmp, ROOT], check=True)
    return os.path.join(tmp, "model.lstm"), os.path.join(tmp, "expected.json")


def logits_of(ckpt_path, expected):
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    model = tc.module_from_checkpoint(ckpt)
    B, T = expected["batch"], expected["steps"]
    with torch.no_grad():
        if "tokens" in expected:
            x = torch.tensor(expected["tokens"], dtype=torch.int64)
        else:
            x = torch.tensor(expected["inputs"], dtype=torch.float32).reshape(B, T, -1)
        logits, _ = model(x)
    return logits.reshape(-1), ckpt


def compare(name, got, want):
    want = torch.tensor(want, dtype=torch.float32)
    diff = (got - want).abs()
    bad = (diff > ATOL + RTOL * want.abs()).sum().item()
    print(f"{name}: max |logit diff| {diff.max().item():.2e} over {want.numel()} logits"
          + (f", {bad} beyond tolerance" if bad else ""))
    return bad == 0, diff.max().item()


def main(argv):
    with tempfile.TemporaryDirectory() as tmp:
        if len(argv) == 0:
            model_path, expected_path = train_with_node(tmp)
        elif len(argv) == 2:
            model_path, expected_path = argv
        else:
            print(__doc__, file=sys.stderr)
            return 2
        with open(expected_path, encoding="utf-8") as f:
            expected = json.load(f)
        with open(model_path, "rb") as f:
            original = tc.read_lstm(f.read())
        ok = True
        results = {}
        for variant in ("none", "identity"):
            if variant == "identity" and original["config"]["input_vocab"] == 0:
                continue
            pt = os.path.join(tmp, f"export-{variant}.pt")
            if tc.main(["from-lstm", model_path, "-o", pt, "--embedding", variant]) != 0:
                return 1
            got, ckpt = logits_of(pt, expected)
            good, diff = compare(f"PyTorch LstmWasmModel (embedding {variant})", got, expected["logits"])
            ok &= good
            results[variant] = diff
            back = os.path.join(tmp, f"back-{variant}.lstm")
            if tc.main(["to-lstm", pt, "-o", back]) != 0:
                return 1
            with open(back, "rb") as f:
                again = tc.read_lstm(f.read())
            same = (again["config"] == original["config"] and again["vocab"] == original["vocab"]
                    and again["params"].tobytes() == original["params"].tobytes())
            print(f"re-import (embedding {variant}): config, vocabulary and {again['params'].size} parameters "
                  + ("bit-identical" if same else "DIFFER"))
            ok &= same
        print(("export check passed" if ok else "export check FAILED")
              + f" (training state in the file: {'yes' if original['training_state'] else 'no'})")
        print("RESULT " + json.dumps({"ok": bool(ok), "max_abs_diff": results}))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
