"""Generate PyTorch reference fixtures (tests/fixtures/torch_*.json) for lstm-wasm's LSTM and GRU."""

# Usage (needs PyTorch; Debian's python3-torch is visible to /usr/bin/python3):
#     /usr/bin/python3 tools/make_torch_fixtures.py
#
# Model: torch.nn.LSTM(X, H, num_layers=L, batch_first=True, bias=True, no dropout)
# with zero initial state, then a Linear(H, V) head at every time step, and
# loss = mean softmax cross-entropy over all B*T positions.
# Cases with cell="gru" use torch.nn.GRU instead (gate rows r, z, n); cases with
# head="mse" use loss = mean squared error (torch's mse_loss, mean over every element)
# against target_values, at every step or, with last_step_only, at the last step only.
# Cases with proj_size use nn.LSTM(proj_size=P): h = W_hr (o * tanh(c)), h_n is (L, B, P).
#
# Parameters and dense inputs are drawn in float32 (so a float32 implementation
# can load them exactly), then everything is computed in float64.
# Re-running produces byte-identical files.

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
    dict(name="torch_lstm_tokens.json", mode="tokens", seed=1234,
         input_size=11, hidden_size=7, num_layers=2, output_size=11, batch=3, steps=6),
    dict(name="torch_lstm_dense.json", mode="dense", seed=5678,
         input_size=5, hidden_size=6, num_layers=2, output_size=4, batch=2, steps=5),
    dict(name="torch_lstm_tokens_1layer.json", mode="tokens", seed=4321,
         input_size=13, hidden_size=9, num_layers=1, output_size=13, batch=2, steps=7),
    # a dropout-free stacked LSTM with a linear (mse) head, every step
    dict(name="torch_lstm_dense_mse.json", mode="dense", seed=2468, head="mse",
         input_size=4, hidden_size=5, num_layers=2, output_size=2, batch=3, steps=5),
    dict(name="torch_gru_tokens.json", mode="tokens", seed=1357, cell="gru",
         input_size=9, hidden_size=6, num_layers=2, output_size=9, batch=3, steps=5),
    dict(name="torch_gru_dense_mse_last.json", mode="dense", seed=9753, cell="gru", head="mse",
         last_step_only=True, input_size=4, hidden_size=5, num_layers=2, output_size=3, batch=3, steps=5),
    dict(name="torch_lstm_proj.json", mode="dense", seed=8642, proj_size=3,
         input_size=4, hidden_size=6, num_layers=2, output_size=4, batch=3, steps=5),
]

MAX_FILE_BYTES = 100 * 1024


def arena_tensors(X, H, L, V, cell="lstm", P=0):
    """The tensors of the flat parameter arena (tools/lstm_layout.py), in arena order."""
    return lstm_layout.tensors(dict(input_vocab=0, input_size=X, hidden_size=H, num_layers=L, output_size=V,
                                    cell=1 if cell == "gru" else 0, proj_size=P))


def arena_layout(X, H, L, V, cell="lstm", P=0):
    """(name, shape) of every tensor in the flat parameter arena, in arena order, named as Model
    names its parameters (the recurrent ones under lstm. or gru.)."""
    return [(t.name if t.unit is None else f"{cell}.{t.name}", t.shape) for t in arena_tensors(X, H, L, V, cell, P)]


class Model(torch.nn.Module):
    def __init__(self, X, H, L, V, cell="lstm", P=0):
        super().__init__()
        self.cell = cell
        if cell == "gru":
            self.gru = torch.nn.GRU(input_size=X, hidden_size=H, num_layers=L,
                                    bias=True, batch_first=True, dropout=0.0)
        elif P:
            self.lstm = torch.nn.LSTM(input_size=X, hidden_size=H, num_layers=L, bias=True,
                                      batch_first=True, dropout=0.0, proj_size=P)
        else:
            self.lstm = torch.nn.LSTM(input_size=X, hidden_size=H, num_layers=L,
                                      bias=True, batch_first=True, dropout=0.0)
        self.out = torch.nn.Linear(P or H, V)

    def forward(self, x):
        B = x.shape[0]
        rnn = self.gru if self.cell == "gru" else self.lstm
        L, H = rnn.num_layers, rnn.hidden_size
        zeros = torch.zeros(L, B, H, dtype=x.dtype)
        if self.cell == "gru":
            y, h_n = rnn(x, zeros)
            return self.out(y), h_n, None
        S = rnn.proj_size or H
        h0 = torch.zeros(L, B, S, dtype=x.dtype)
        y, (h_n, c_n) = rnn(x, (h0, zeros.clone()))
        return self.out(y), h_n, c_n


def case_loss(fx_or_case, outputs, targets):
    """The fixture's loss from the (B, T, V) head outputs."""
    V = outputs.shape[-1]
    if fx_or_case.get("head", "softmax") == "mse":
        if fx_or_case.get("last_step_only"):
            outputs = outputs[:, -1, :]
        return torch.nn.functional.mse_loss(outputs, targets)
    return torch.nn.functional.cross_entropy(outputs.reshape(-1, V), targets.reshape(-1))


def flat(t):
    """Row-major flattening of a tensor into a list of Python floats (float64)."""
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def make_case(case):
    X, H, L, V = case["input_size"], case["hidden_size"], case["num_layers"], case["output_size"]
    B, T, mode = case["batch"], case["steps"], case["mode"]
    cell, mse, last = case.get("cell", "lstm"), case.get("head") == "mse", case.get("last_step_only", False)
    P = case.get("proj_size", 0)
    torch.manual_seed(case["seed"])

    model = Model(X, H, L, V, cell, P)
    params = dict(model.named_parameters())
    layout = arena_layout(X, H, L, V, cell, P)
    # The arena order must be exactly PyTorch's own parameter order.
    assert [n for n, _ in layout] == list(params.keys()), (list(params.keys()), layout)

    # Draw float32 weights from U(-0.5, 0.5), then compute in float64.
    with torch.no_grad():
        for name, shape in layout:
            assert tuple(params[name].shape) == shape, (name, params[name].shape, shape)
            params[name].uniform_(-0.5, 0.5)  # parameters are float32 here
    model = model.double()

    if mode == "tokens":
        tokens = torch.randint(0, X, (B, T))
        x = torch.nn.functional.one_hot(tokens, X).double()
    else:
        x = torch.randn(B, T, X, dtype=torch.float32).double()
        x.requires_grad_(True)
    if mse:
        targets = torch.randn((B, V) if last else (B, T, V), dtype=torch.float32).double()
    else:
        targets = torch.randint(0, V, (B, T))

    logits, h_n, c_n = model(x)
    loss = case_loss(case, logits, targets)
    model.zero_grad()
    loss.backward()

    named = dict(model.named_parameters())
    arena = [v for name, _ in layout for v in flat(named[name])]
    grads = [v for name, _ in layout for v in flat(named[name].grad)]

    fixture = {}
    if cell != "lstm":
        fixture["cell"] = cell
    if P:
        fixture["proj_size"] = P
    if mse:
        fixture["head"] = "mse"
        fixture["last_step_only"] = bool(last)
    fixture.update({
        "mode": mode,
        "input_size": X,
        "hidden_size": H,
        "num_layers": L,
        "output_size": V,
        "batch": B,
        "steps": T,
        "params": arena,
    })
    if mode == "tokens":
        fixture["tokens"] = [int(v) for v in tokens.reshape(-1).tolist()]
    else:
        fixture["inputs"] = flat(x)
    if mse:
        fixture["target_values"] = flat(targets)
    else:
        fixture["targets"] = [int(v) for v in targets.reshape(-1).tolist()]
    fixture.update({"loss": float(loss.item()), "logits": flat(logits), "h_n": flat(h_n)})
    if c_n is not None:
        fixture["c_n"] = flat(c_n)
    fixture["grads"] = grads
    if mode == "dense":
        fixture["input_grads"] = flat(x.grad)
    fixture["torch_version"] = torch.__version__
    return fixture


# ---------------------------------------------------------------------------
# Self-checks, run on the JSON as re-read from disk.

def reference_forward(fx):
    """Plain-Python float64 LSTM + head + loss straight from the flat arena, cut into
    tensors by the parameter table (tools/lstm_layout.py).

    Independent of torch; confirms the arena layout (and PyTorch's i, f, g, o
    gate order within each 4H block, or r, z, n within each 3H block of a GRU)
    is what the fixture claims.
    """
    X, H, L, V = fx["input_size"], fx["hidden_size"], fx["num_layers"], fx["output_size"]
    B, T = fx["batch"], fx["steps"]
    gru, mse, last = fx.get("cell") == "gru", fx.get("head") == "mse", fx.get("last_step_only", False)
    P = fx.get("proj_size", 0)
    S = P or H
    G = (3 if gru else 4) * H
    tensors = arena_tensors(X, H, L, V, fx.get("cell", "lstm"), P)
    assert sum(t.size for t in tensors) == len(fx["params"])
    w = {t.name: fx["params"][t.offset:t.offset + t.size] for t in tensors}
    layers = [(w[f"weight_ih_l{l}"], w[f"weight_hh_l{l}"], w[f"bias_ih_l{l}"], w[f"bias_hh_l{l}"], X if l == 0 else S)
              for l in range(L)]
    w_hr = [w.get(f"weight_hr_l{l}") for l in range(L)]
    w_out, b_out = w["out.weight"], w["out.bias"]

    sig = lambda z: 1.0 / (1.0 + math.exp(-z))
    logits, h_n, c_n, loss = [], [[None] * B for _ in range(L)], [[None] * B for _ in range(L)], 0.0
    for b in range(B):
        h = [[0.0] * S for _ in range(L)]
        c = [[0.0] * H for _ in range(L)]
        for t in range(T):
            i_bt = b * T + t
            if fx["mode"] == "tokens":
                inp = [0.0] * X
                inp[fx["tokens"][i_bt]] = 1.0
            else:
                inp = fx["inputs"][i_bt * X:(i_bt + 1) * X]
            for l, (w_ih, w_hh, b_ih, b_hh, x_l) in enumerate(layers):
                if gru:
                    gi = [b_ih[r] + sum(w_ih[r * x_l + k] * inp[k] for k in range(x_l)) for r in range(G)]
                    gh = [b_hh[r] + sum(w_hh[r * H + k] * h[l][k] for k in range(H)) for r in range(G)]
                    for j in range(H):
                        rg, zg = sig(gi[j] + gh[j]), sig(gi[H + j] + gh[H + j])
                        ng = math.tanh(gi[2 * H + j] + rg * gh[2 * H + j])
                        h[l][j] = (1 - zg) * ng + zg * h[l][j]
                    inp = list(h[l])
                    continue
                z = [b_ih[r] + b_hh[r]
                     + sum(w_ih[r * x_l + k] * inp[k] for k in range(x_l))
                     + sum(w_hh[r * S + k] * h[l][k] for k in range(S))
                     for r in range(4 * H)]
                m = [0.0] * H
                for j in range(H):
                    ig, fg = sig(z[j]), sig(z[H + j])
                    gg, og = math.tanh(z[2 * H + j]), sig(z[3 * H + j])
                    c[l][j] = fg * c[l][j] + ig * gg
                    m[j] = og * math.tanh(c[l][j])
                if P:  # h = W_hr m
                    h[l] = [sum(w_hr[l][q * H + k] * m[k] for k in range(H)) for q in range(P)]
                else:
                    h[l] = m
                inp = list(h[l])
            row = [b_out[v] + sum(w_out[v * S + k] * inp[k] for k in range(S)) for v in range(V)]
            logits += row
            if mse:
                if not last or t == T - 1:
                    at = (b if last else i_bt) * V
                    loss += sum((row[v] - fx["target_values"][at + v]) ** 2 for v in range(V))
                continue
            m = max(row)
            lse = m + math.log(sum(math.exp(r - m) for r in row))
            loss += lse - row[fx["targets"][i_bt]]
        for l in range(L):
            h_n[l][b], c_n[l][b] = list(h[l]), list(c[l])
    flat_state = lambda s: [v for layer in s for hb in layer for v in hb]
    scored = (B if last else B * T) * (V if mse else 1)
    return loss / scored, logits, flat_state(h_n), None if gru else flat_state(c_n)


def max_abs_diff(a, b):
    assert len(a) == len(b), (len(a), len(b))
    return max(abs(x - y) for x, y in zip(a, b))


def verify(path, case):
    size = os.path.getsize(path)
    assert size < MAX_FILE_BYTES, f"{path} is {size} bytes"
    with open(path) as f:
        fx = json.load(f)

    X, H, L, V = fx["input_size"], fx["hidden_size"], fx["num_layers"], fx["output_size"]
    B, T = fx["batch"], fx["steps"]
    for key in ("mode", "input_size", "hidden_size", "num_layers", "output_size", "batch", "steps"):
        assert fx[key] == case[key], key
    cell, mse, last = fx.get("cell", "lstm"), fx.get("head") == "mse", fx.get("last_step_only", False)
    assert cell == case.get("cell", "lstm") and mse == (case.get("head") == "mse")
    assert last == case.get("last_step_only", False)

    P = fx.get("proj_size", 0)
    assert P == case.get("proj_size", 0)
    n_params = sum(math.prod(shape) for _, shape in arena_layout(X, H, L, V, cell, P))
    assert len(fx["params"]) == n_params, (len(fx["params"]), n_params)
    assert len(fx["grads"]) == n_params
    if mse:
        assert "targets" not in fx and len(fx["target_values"]) == (B if last else B * T) * V
    else:
        assert len(fx["targets"]) == B * T and all(0 <= v < V for v in fx["targets"])
    assert len(fx["logits"]) == B * T * V
    assert len(fx["h_n"]) == L * B * (P or H) and (cell == "gru") == ("c_n" not in fx)
    assert cell == "gru" or len(fx["c_n"]) == L * B * H
    if fx["mode"] == "tokens":
        assert "inputs" not in fx and "input_grads" not in fx
        assert len(fx["tokens"]) == B * T and all(0 <= v < X for v in fx["tokens"])
    else:
        assert "tokens" not in fx
        assert len(fx["inputs"]) == B * T * X and len(fx["input_grads"]) == B * T * X
        assert all(float(torch.tensor(v, dtype=torch.float32)) == v for v in fx["inputs"])
    # Params must be exactly representable in float32.
    assert all(float(torch.tensor(v, dtype=torch.float32)) == v for v in fx["params"])
    assert all(-0.5 <= v <= 0.5 for v in fx["params"])
    assert all(math.isfinite(v) for k in ("logits", "h_n", "c_n", "grads") if k in fx for v in fx[k])

    # Independent forward pass from the flat arena.
    loss, logits, h_n, c_n = reference_forward(fx)
    assert abs(loss - fx["loss"]) < 1e-12, (loss, fx["loss"])
    for name, ref in (("logits", logits), ("h_n", h_n), ("c_n", c_n)):
        if ref is None:
            continue
        d = max_abs_diff(ref, fx[name])
        assert d < 1e-12, (name, d)

    # Spot-check gradients with central finite differences in float64.
    model = Model(X, H, L, V, cell, P).double()
    layout = arena_layout(X, H, L, V, cell, P)
    named = dict(model.named_parameters())

    def load(arena):
        pos = 0
        with torch.no_grad():
            for name, shape in layout:
                n = math.prod(shape)
                named[name].copy_(torch.tensor(arena[pos:pos + n], dtype=torch.float64).reshape(shape))
                pos += n

    if mse:
        targets = torch.tensor(fx["target_values"], dtype=torch.float64).reshape((B, V) if last else (B, T, V))
    else:
        targets = torch.tensor(fx["targets"]).reshape(B, T)

    def loss_at(arena, inputs):
        load(arena)
        if fx["mode"] == "tokens":
            x = torch.nn.functional.one_hot(torch.tensor(fx["tokens"]).reshape(B, T), X).double()
        else:
            x = torch.tensor(inputs, dtype=torch.float64).reshape(B, T, X)
        with torch.no_grad():
            return float(case_loss(fx, model(x)[0], targets))

    eps = 1e-6
    inputs = fx.get("inputs")
    assert abs(loss_at(fx["params"], inputs) - fx["loss"]) < 1e-12
    stride = max(1, n_params // 40)
    for idx in list(range(0, n_params, stride)) + [n_params - 1]:
        plus, minus = list(fx["params"]), list(fx["params"])
        plus[idx] += eps
        minus[idx] -= eps
        fd = (loss_at(plus, inputs) - loss_at(minus, inputs)) / (2 * eps)
        assert abs(fd - fx["grads"][idx]) < 1e-7, ("grad", idx, fd, fx["grads"][idx])
    if fx["mode"] == "dense":
        for idx in range(0, B * T * X, 3):
            plus, minus = list(inputs), list(inputs)
            plus[idx] += eps
            minus[idx] -= eps
            fd = (loss_at(fx["params"], plus) - loss_at(fx["params"], minus)) / (2 * eps)
            assert abs(fd - fx["input_grads"][idx]) < 1e-7, ("input_grad", idx, fd)
    return fx, size


def main():
    torch.set_default_dtype(torch.float32)
    os.makedirs(OUT_DIR, exist_ok=True)
    for case in CASES:
        fixture = make_case(case)
        path = os.path.join(OUT_DIR, case["name"])
        with open(path, "w") as f:
            json.dump(fixture, f)
            f.write("\n")
        fx, size = verify(path, case)
        print(f"{os.path.relpath(path, ROOT)}: {size} bytes, {len(fx['params'])} params, "
              f"loss={fx['loss']!r}  (verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
