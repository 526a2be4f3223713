"""Generate PyTorch reference fixtures for lstm-wasm's bidirectional models
(tests/fixtures/torch_bi*.json).

Usage (needs PyTorch; Debian's python3-torch is visible to /usr/bin/python3):
    /usr/bin/python3 tools/make_torch_bidirectional_fixtures.py

Model: torch.nn.LSTM or torch.nn.GRU(X, H, num_layers=L, bidirectional=True, batch_first=True,
no dropout) from a zero state, then a Linear(2S, V) head. Sequences of different lengths go
through torch.nn.utils.rnn.pack_padded_sequence, so the reverse direction starts at each
sequence's own last step, as lstm-wasm's `lengths` does. The head reads
  - every step (returnSequences): the padded output [forward h(t), reverse h(t)], scored only
    at valid steps; padded steps' outputs are zero;
  - the last step only: [h_n forward, h_n reverse] of the top layer (each direction's final
    state; Keras' Bidirectional(return_sequences=False)).
Loss: mean squared error over the valid rows and the V outputs (mse head) or mean
cross-entropy over the scored rows (softmax head), as lstm-wasm's heads.

Parameters and dense inputs are drawn in float32 (a float32 implementation loads them
exactly), then everything is computed in float64. The arena order (tools/lstm_layout.py) is
PyTorch's own named_parameters() order (weight_ih_l0, ..., weight_ih_l0_reverse, ...), asserted
below.
Each fixture is checked after writing: the loss recomputed from the file and gradients
spot-checked by central differences in float64. Re-running produces identical files.
"""

import json
import math
import os
import sys

import torch

sys.dont_write_bytecode = True  # no tools/__pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstm_layout  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures")

CASES = [
    # two stacked bidirectional LSTM layers, regression at every step, a padded batch
    dict(name="torch_bilstm_dense_mse_masked.json", cell="lstm", mode="dense", head="mse",
         last_step_only=False, seed=3141, input_size=4, hidden_size=5, num_layers=2,
         output_size=2, batch=3, steps=5, lengths=[5, 3, 4]),
    # bidirectional GRU on tokens, classification from both final states, a padded batch
    dict(name="torch_bigru_tokens_last_masked.json", cell="gru", mode="tokens", head="softmax",
         last_step_only=True, seed=2718, input_size=7, hidden_size=4, num_layers=2,
         output_size=3, batch=3, steps=6, lengths=[6, 2, 4]),
    # projection (proj_size 3 of 6): every layer's output is 2 x 3 wide
    dict(name="torch_bilstm_proj_dense_last.json", cell="lstm", mode="dense", head="mse",
         last_step_only=True, seed=1618, input_size=3, hidden_size=6, num_layers=2,
         output_size=2, batch=2, steps=4, lengths=[4, 4], proj_size=3),
]


class BiModel(torch.nn.Module):
    def __init__(self, case):
        super().__init__()
        X, H, L = case["input_size"], case["hidden_size"], case["num_layers"]
        P = case.get("proj_size", 0)
        kw = dict(input_size=X, hidden_size=H, num_layers=L, bias=True, batch_first=True,
                  dropout=0.0, bidirectional=True)
        if case["cell"] == "gru":
            self.rnn = torch.nn.GRU(**kw)
        else:
            self.rnn = torch.nn.LSTM(**kw, proj_size=P)
        self.out = torch.nn.Linear(2 * (P or H), case["output_size"])
        self.case = case

    def forward(self, x, lengths):
        """Head outputs: (B, T, V) at every step (zeros at padded steps), or (B, V)."""
        B, T = x.shape[0], x.shape[1]
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                         enforce_sorted=False)
        y, state = self.rnn(packed)
        h_n = state if self.case["cell"] == "gru" else state[0]
        if self.case["last_step_only"]:
            # h_n: (L * 2, B, S), the top layer's forward then reverse final states
            return self.out(torch.cat([h_n[-2], h_n[-1]], dim=1))
        y, _ = torch.nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=T)
        mask = (torch.arange(T)[None, :] < lengths[:, None]).to(x.dtype)[:, :, None]
        return self.out(y) * mask  # padded steps: zero, as lstm-wasm's predict


def case_loss(case, outputs, targets, lengths):
    B, T = targets.shape[0], case["steps"]
    if case["last_step_only"]:
        if case["head"] == "mse":
            return torch.nn.functional.mse_loss(outputs, targets)
        return torch.nn.functional.cross_entropy(outputs, targets)
    valid = (torch.arange(T)[None, :] < lengths[:, None]).reshape(-1)
    V = outputs.shape[-1]
    out = outputs.reshape(B * T, V)[valid]
    if case["head"] == "mse":
        return torch.nn.functional.mse_loss(out, targets.reshape(B * T, V)[valid])
    return torch.nn.functional.cross_entropy(out, targets.reshape(-1)[valid])


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def inputs_of(case, fx_inputs=None, tokens=None):
    B, T, X = case["batch"], case["steps"], case["input_size"]
    if case["mode"] == "tokens":
        return torch.nn.functional.one_hot(tokens, X).double()
    return torch.tensor(fx_inputs, dtype=torch.float64).reshape(B, T, X)


def make_case(case):
    B, T, X, V = case["batch"], case["steps"], case["input_size"], case["output_size"]
    torch.manual_seed(case["seed"])
    model = BiModel(case)
    arena = lstm_layout.tensors(dict(
        input_vocab=0, input_size=X, hidden_size=case["hidden_size"], num_layers=case["num_layers"], output_size=V,
        cell=1 if case["cell"] == "gru" else 0, proj_size=case.get("proj_size", 0), bidirectional=1))
    # the recurrent tensors are BiModel's rnn.*
    expected = [(t.name if t.unit is None else "rnn." + t.name, t.shape) for t in arena]
    got = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
    assert got == expected, (got, expected)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.5, 0.5)  # float32 draws
    model = model.double()
    lengths = torch.tensor(case["lengths"])
    tokens = None
    if case["mode"] == "tokens":
        tokens = torch.randint(0, X, (B, T))
        x = inputs_of(case, tokens=tokens)
    else:
        x = torch.randn(B, T, X, dtype=torch.float32).double().requires_grad_(True)
    rows = (B,) if case["last_step_only"] else (B, T)
    if case["head"] == "mse":
        targets = torch.randn(*rows, V, dtype=torch.float32).double()
    else:
        targets = torch.randint(0, V, rows)
    outputs = model(x, lengths)
    loss = case_loss(case, outputs, targets, lengths)
    model.zero_grad()
    loss.backward()
    params = list(model.parameters())
    fx = {k: case[k] for k in ("cell", "mode", "head", "last_step_only", "input_size", "hidden_size",
                               "num_layers", "output_size", "batch", "steps", "lengths")}
    fx["proj_size"] = case.get("proj_size", 0)
    fx["params"] = [v for p in params for v in flat(p)]
    if tokens is not None:
        fx["tokens"] = [int(v) for v in tokens.reshape(-1).tolist()]
    else:
        # padded steps hold inputs too: lstm-wasm must ignore them, as the packed torch run does
        fx["inputs"] = flat(x)
    if case["head"] == "mse":
        fx["target_values"] = flat(targets)
    else:
        fx["targets"] = [int(v) for v in targets.reshape(-1).tolist()]
    fx["loss"] = float(loss.item())
    fx["outputs"] = flat(outputs)
    fx["grads"] = [v for p in params for v in flat(p.grad)]
    if tokens is None:
        fx["input_grads"] = flat(x.grad)
    fx["torch_version"] = torch.__version__
    return fx


def verify(path, case):
    """Re-read the file: loss from the stored arena, gradients by central differences."""
    with open(path) as f:
        fx = json.load(f)
    model = BiModel(case).double()
    shapes = [(p, p.shape) for p in model.parameters()]
    assert len(fx["params"]) == sum(math.prod(s) for _, s in shapes)
    assert all(float(torch.tensor(v, dtype=torch.float32)) == v for v in fx["params"])

    def load(arena):
        pos = 0
        with torch.no_grad():
            for p, s in shapes:
                n = math.prod(s)
                p.copy_(torch.tensor(arena[pos:pos + n], dtype=torch.float64).reshape(s))
                pos += n

    lengths = torch.tensor(fx["lengths"])
    B, T, V = fx["batch"], fx["steps"], fx["output_size"]
    rows = (B,) if fx["last_step_only"] else (B, T)
    if fx["head"] == "mse":
        targets = torch.tensor(fx["target_values"], dtype=torch.float64).reshape(*rows, V)
    else:
        targets = torch.tensor(fx["targets"]).reshape(rows)
    tokens = torch.tensor(fx["tokens"]).reshape(B, T) if "tokens" in fx else None

    def loss_at(arena, inputs=None):
        load(arena)
        x = inputs_of(case, inputs if inputs is not None else fx.get("inputs"), tokens)
        with torch.no_grad():
            return float(case_loss(case, model(x, lengths), targets, lengths))

    assert abs(loss_at(fx["params"]) - fx["loss"]) < 1e-12
    n = len(fx["params"])
    eps = 1e-6
    for idx in list(range(0, n, max(1, n // 40))) + [n - 1]:
        plus, minus = list(fx["params"]), list(fx["params"])
        plus[idx] += eps
        minus[idx] -= eps
        fd = (loss_at(plus) - loss_at(minus)) / (2 * eps)
        assert abs(fd - fx["grads"][idx]) < 1e-7, ("grad", idx, fd, fx["grads"][idx])
    if "inputs" in fx:
        for idx in range(0, len(fx["inputs"]), 3):
            plus, minus = list(fx["inputs"]), list(fx["inputs"])
            plus[idx] += eps
            minus[idx] -= eps
            fd = (loss_at(fx["params"], plus) - loss_at(fx["params"], minus)) / (2 * eps)
            assert abs(fd - fx["input_grads"][idx]) < 1e-7, ("input_grad", idx, fd)
    return fx, os.path.getsize(path)


def main():
    torch.set_default_dtype(torch.float32)
    for case in CASES:
        fx = make_case(case)
        path = os.path.join(OUT_DIR, case["name"])
        with open(path, "w") as f:
            json.dump(fx, f)
            f.write("\n")
        fx, size = verify(path, case)
        print(f"{os.path.relpath(path, ROOT)}: {size} bytes, {len(fx['params'])} params, "
              f"loss={fx['loss']!r}  (verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
