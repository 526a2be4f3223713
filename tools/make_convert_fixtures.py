#!/usr/bin/env python3
"""Make the converter fixtures tests/fixtures/convert_*.{lstm,json} with PyTorch.

    /usr/bin/python3 tools/make_convert_fixtures.py           # (re)write the fixtures
    /usr/bin/python3 tools/make_convert_fixtures.py --check   # regenerate in a temp dir, compare

Each case builds a PyTorch model with a different module layout, draws its weights from a
fixed seed, converts its state_dict with tools/torch_convert.py (the same code path as the
command line: torch.save, then to-lstm), and records the logits PyTorch computes in float32
for fixed inputs from a zero state. tests/convert.test.mjs loads the .lstm files with
lstm-wasm and compares its logits with these.

--check compares a fresh run with the committed files: every field exactly, but the float
results of the host's arithmetic (the logits, and parameters folded from an embedding by a
matrix product) within a float32 tolerance, since Debian's torch uses the reference BLAS unless
OpenBLAS is installed and the last bits differ between the two.
"""

import json
import os
import sys
import tempfile

import torch

sys.dont_write_bytecode = True  # no tools/__pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_convert as tc  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures")


class WordLanguageModel(torch.nn.Module):
    """The layout of PyTorch's examples/word_language_model: encoder, rnn (seq-first), decoder."""

    def __init__(self, V, E, H, L):
        super().__init__()
        self.encoder = torch.nn.Embedding(V, E)
        self.rnn = torch.nn.LSTM(E, H, L)  # batch_first=False
        self.decoder = torch.nn.Linear(H, V)

    def forward(self, tokens):  # (B, T)
        y, _ = self.rnn(self.encoder(tokens.t()))  # (T, B, H)
        return self.decoder(y).transpose(0, 1)     # (B, T, V)


class DenseModel(torch.nn.Module):
    def __init__(self, X, H, L, V):
        super().__init__()
        self.lstm = torch.nn.LSTM(X, H, L, batch_first=True)
        self.head = torch.nn.Linear(H, V)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.head(y)


class BiGRUTagger(torch.nn.Module):
    """A bidirectional 2-layer nn.GRU over dense inputs with a linear head: rnn / fc."""

    def __init__(self, X, H, L, V):
        super().__init__()
        self.rnn = torch.nn.GRU(X, H, L, batch_first=True, bidirectional=True)
        self.fc = torch.nn.Linear(2 * H, V)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y)


class EmbeddedBiLSTM(torch.nn.Module):
    """embedding / a bidirectional nn.LSTM with proj_size / decoder."""

    def __init__(self, V, E, H, P):
        super().__init__()
        self.embedding = torch.nn.Embedding(V, E)
        self.lstm = torch.nn.LSTM(E, H, 1, batch_first=True, bidirectional=True, proj_size=P)
        self.decoder = torch.nn.Linear(2 * P, V)

    def forward(self, tokens):
        y, _ = self.lstm(self.embedding(tokens))
        return self.decoder(y)


def spread(model):
    """Weights U(-0.5, 0.5) (PyTorch's default 1/sqrt(H) keeps the gates too linear to test)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "encoder" not in name and "embedding" not in name:
                p.uniform_(-0.5, 0.5)
    return model.eval()


def case_embedding():
    text = "Hello, wörld! 🙂\n"
    vocab = sorted(set(text), key=ord)
    V, E, H, L = len(vocab), 5, 12, 2
    torch.manual_seed(2024)
    model = spread(WordLanguageModel(V, E, H, L))
    ids = {c: i for i, c in enumerate(vocab)}
    seqs = [[ids[c] for c in "Hello, wörld! 🙂"], [ids[c] for c in "🙂 wörld, Hello!"]]
    return dict(name="convert_embedding", layout="encoder (nn.Embedding) / rnn (nn.LSTM, seq-first) / decoder (nn.Linear)",
                model=model, vocab=vocab, tokens=seqs, args=[])


def case_onehot():
    vocab = list("abcdefgh \n")
    V, H = len(vocab), 9
    torch.manual_seed(77)
    model = spread(tc.reference_module_class()(V, H, 1, V))
    seqs = [[0, 1, 2, 3, 8, 4, 5, 6, 7, 9], [9, 9, 1, 1, 0, 8, 3, 2, 7, 6]]
    return dict(name="convert_onehot", layout="lstm (nn.LSTM, one-hot input) / out (nn.Linear)",
                model=model, vocab=vocab, tokens=seqs, args=[])


def case_dense():
    X, H, L, V = 4, 7, 2, 3
    torch.manual_seed(31337)
    model = spread(DenseModel(X, H, L, V))
    inputs = torch.randn(2, 6, X, dtype=torch.float32)
    return dict(name="convert_dense", layout="lstm (nn.LSTM, dense input) / head (nn.Linear)",
                model=model, vocab=None, inputs=inputs, args=["dense"])


def make(case, out_dir):
    model = case["model"]
    with tempfile.TemporaryDirectory() as tmp:
        pt = os.path.join(tmp, f"{case['name']}.pt")
        torch.save(model.state_dict(), pt)
        argv = ["to-lstm", pt, "-o", os.path.join(out_dir, f"{case['name']}.lstm")]
        if case["vocab"] is not None:
            vocab_path = os.path.join(tmp, "vocab.json")
            with open(vocab_path, "w", encoding="utf-8") as f:
                json.dump(case["vocab"], f, ensure_ascii=False)
            argv += ["--vocab", vocab_path]
        if "dense" in case["args"]:
            argv += ["--input", "dense"]
        if "mse" in case["args"]:
            argv += ["--loss", "mse"]
        if "last" in case["args"]:
            argv += ["--last-step-only"]
        status = tc.main(argv)
        assert status == 0, status
    with torch.no_grad():
        if "tokens" in case:
            x = torch.tensor(case["tokens"], dtype=torch.int64)
        else:
            x = case["inputs"]
        logits = model(x)  # float32, (B, T, V)
        if isinstance(logits, tuple):  # LstmWasmModel returns (logits, state)
            logits = logits[0]
    fixture = {
        "name": case["name"],
        "layout": case["layout"],
        "state_dict": {k: list(v.shape) for k, v in model.state_dict().items()},
        "vocab": case["vocab"],
        "batch": int(logits.shape[0]),
        "steps": int(logits.shape[1]),
        "output_size": int(logits.shape[2]),
        "head": "mse" if "mse" in case["args"] else "softmax",
        "last_step_only": "last" in case["args"],
    }
    if "tokens" in case:
        fixture["tokens"] = case["tokens"]
    else:
        fixture["inputs"] = [float(v) for v in case["inputs"].reshape(-1).tolist()]
    fixture["logits"] = [float(v) for v in logits.reshape(-1).tolist()]
    fixture["torch_version"] = torch.__version__
    path = os.path.join(out_dir, f"{case['name']}.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                                    for k, v in fixture.items()) + "\n}\n")
    verify(out_dir, fixture)
    return fixture


def verify(out_dir, fx):
    """Re-read the .lstm with the converter's reader, rebuild LstmWasmModel and compare."""
    with open(os.path.join(out_dir, f"{fx['name']}.lstm"), "rb") as f:
        parsed = tc.read_lstm(f.read())
    _, ckpt = tc.from_lstm(parsed)
    m = tc.module_from_checkpoint(ckpt)
    B, T, V = fx["batch"], fx["steps"], fx["output_size"]
    with torch.no_grad():
        if "tokens" in fx:
            x = torch.tensor(fx["tokens"], dtype=torch.int64)
        else:
            x = torch.tensor(fx["inputs"], dtype=torch.float32).reshape(B, T, -1)
        logits, _ = m(x)
    ref = torch.tensor(fx["logits"]).reshape(B, T, V)
    diff = (logits - ref).abs().max().item()
    assert diff < 1e-5, (fx["name"], diff)
    if fx["vocab"] is not None:
        assert [chr(c) for c in parsed["vocab"]] == fx["vocab"]
    print(f"{fx['name']}: {parsed['size']} bytes, {parsed['params'].size} parameters, "
          f"python round trip max |logit diff| {diff:.1e}")


def case_regression():
    """Format version 2: an MSE head scored at the last step (sequence regression)."""
    X, H, L, V = 3, 6, 1, 2
    torch.manual_seed(99)
    model = spread(DenseModel(X, H, L, V))
    inputs = torch.randn(3, 5, X, dtype=torch.float32)
    return dict(name="convert_regression", layout="lstm (nn.LSTM, dense input) / head (nn.Linear), MSE, last step only",
                model=model, vocab=None, inputs=inputs, args=["dense", "mse", "last"])


def case_bigru_dense():
    """Format version 2: a bidirectional GRU (gate rows r, z, n; *_reverse tensors)."""
    X, H, L, V = 3, 5, 2, 4
    torch.manual_seed(4242)
    model = spread(BiGRUTagger(X, H, L, V))
    inputs = torch.randn(2, 6, X, dtype=torch.float32)
    return dict(name="convert_bigru_dense", layout="rnn (nn.GRU, bidirectional, dense input) / fc (nn.Linear(2H, V))",
                model=model, vocab=None, inputs=inputs, args=["dense"])


def case_bilstm_proj_embedding():
    """Format version 2: an embedding folded into both directions of a bidirectional
    nn.LSTM with proj_size."""
    text = "bidirectional, projected\n"
    vocab = sorted(set(text), key=ord)
    V, E, H, P = len(vocab), 4, 8, 3
    torch.manual_seed(5151)
    model = spread(EmbeddedBiLSTM(V, E, H, P))
    ids = {c: i for i, c in enumerate(vocab)}
    seqs = [[ids[c] for c in "bidirectional"], [ids[c] for c in "projected, bi\n"[:13]]]
    return dict(name="convert_bilstm_proj_embedding",
                layout="embedding (nn.Embedding) / lstm (nn.LSTM, bidirectional, proj_size 3) / decoder (nn.Linear(2P, V))",
                model=model, vocab=vocab, tokens=seqs, args=[])


CASES = [case_embedding, case_onehot, case_dense, case_regression, case_bigru_dense, case_bilstm_proj_embedding]


# float32 results of the same computation by two BLAS builds differ by a few ulps (~1e-7
# relative); a wrong weight, gate order or layout moves them by 1e-3 or more.
CHECK_RTOL = 1e-5
CHECK_ATOL = 1e-6


def close(a, b):
    """Is every value of float list a within the check tolerance of b?"""
    import numpy as np
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= CHECK_ATOL + CHECK_RTOL * np.abs(b)))


def same_fixture(fresh_dir, name):
    """The differences between a fresh fixture and the committed one (an empty list if none)."""
    bad = []
    with open(os.path.join(fresh_dir, f"{name}.json")) as a, open(os.path.join(OUT_DIR, f"{name}.json")) as b:
        fresh, kept = json.load(a), json.load(b)
    for key in sorted(set(fresh) | set(kept)):
        if key in ("logits", "state_dict"):
            continue
        if fresh.get(key) != kept.get(key):
            bad.append(f"{name}.json: {key}")
    if not close(fresh["logits"], kept["logits"]):
        bad.append(f"{name}.json: logits beyond rtol {CHECK_RTOL}")
    if sorted(fresh["state_dict"]) != sorted(kept["state_dict"]) or not all(
            close(fresh["state_dict"][k], kept["state_dict"][k]) for k in kept["state_dict"]):
        bad.append(f"{name}.json: state_dict")
    with open(os.path.join(fresh_dir, f"{name}.lstm"), "rb") as a, open(os.path.join(OUT_DIR, f"{name}.lstm"), "rb") as b:
        fresh_m, kept_m = tc.read_lstm(a.read()), tc.read_lstm(b.read())
    for key in ("config", "vocab", "metadata", "version", "size", "training_state"):
        if fresh_m[key] != kept_m[key]:
            bad.append(f"{name}.lstm: {key}")
    if not close(fresh_m["params"], kept_m["params"]):
        bad.append(f"{name}.lstm: parameters beyond rtol {CHECK_RTOL}")
    return bad


def main():
    check = "--check" in sys.argv[1:]
    if not check:
        for case in CASES:
            make(case(), OUT_DIR)
        return 0
    bad = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            fx = make(case(), tmp)
            bad += same_fixture(tmp, fx["name"])
    if bad:
        print(f"differ from a fresh run: {', '.join(bad)}", file=sys.stderr)
        return 1
    print(f"fixtures reproduce (floats within rtol {CHECK_RTOL}, everything else exactly)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
