"""Generate PyTorch reference fixtures for Model.trace (tests/fixtures/torch_trace_*.json).

Usage (needs PyTorch; Debian's python3-torch is visible to /usr/bin/python3):
    /usr/bin/python3 tools/make_torch_trace_fixtures.py

Each case is a torch.nn.LSTM or torch.nn.GRU (num_layers, proj_size, bidirectional as given,
batch_first, no dropout) and a Linear head, with parameters drawn in float32 (so a float32
implementation loads them exactly) and everything computed in float64. One sequence runs
from a zero state. For every unit (one direction of one layer) the file holds, step by step:
  h  the unit's output after reading input t (a reverse unit reads from the last input back
     to t), from PyTorch: the unit's weights in a one-layer module of its own, run one step at
     a time with its (h, c) carried, so every step's c is PyTorch's too;
  c  the cell state (LSTM), likewise;
  gates  the gate activations, computed here from the PyTorch weights by the equations
     (LSTM i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of W_ih x + b_ih + W_hh h + b_hh;
     GRU r, z = sigmoid(...), n = tanh(W_in x + b_in + r * (W_hn h + b_hn))), and checked:
     they must give back PyTorch's c and h (to 1e-12).
The units' stepped outputs are checked against the whole model's forward (to 1e-12), and the
head's outputs at every step (softmax probabilities, or the MSE head's values) are stored too.
The arena order (tools/lstm_layout.py) is PyTorch's named_parameters() order, asserted below.
Re-running produces identical files.
"""

import json
import os
import sys

import torch

sys.dont_write_bytecode = True  # no tools/__pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstm_layout  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures")

# 150 steps: over a chunk boundary of the trace (128 steps), where the state is carried
CASES = [
    dict(name="torch_trace_lstm.json", cell="lstm", mode="tokens", head="softmax", seed=11,
         input_size=11, hidden_size=7, num_layers=2, output_size=11, steps=150),
    dict(name="torch_trace_lstm_proj.json", cell="lstm", mode="dense", head="mse", seed=12,
         input_size=4, hidden_size=8, num_layers=2, output_size=2, steps=150, proj_size=3),
    dict(name="torch_trace_gru.json", cell="gru", mode="tokens", head="softmax", seed=13,
         input_size=9, hidden_size=6, num_layers=2, output_size=9, steps=150),
    dict(name="torch_trace_bilstm.json", cell="lstm", mode="dense", head="softmax", seed=14,
         input_size=3, hidden_size=5, num_layers=2, output_size=4, steps=40, bidirectional=True),
]


class Net(torch.nn.Module):
    def __init__(self, case):
        super().__init__()
        X, H, L = case["input_size"], case["hidden_size"], case["num_layers"]
        P, D = case.get("proj_size", 0), 2 if case.get("bidirectional") else 1
        kw = dict(input_size=X, hidden_size=H, num_layers=L, batch_first=True, bidirectional=D == 2)
        self.rnn = torch.nn.GRU(**kw) if case["cell"] == "gru" else torch.nn.LSTM(**kw, proj_size=P)
        self.out = torch.nn.Linear(D * (P or H), case["output_size"])


def flat(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def unit_module(case, net, layer, reverse, x_width):
    """A one-layer, one-direction module holding unit (layer, reverse)'s weights."""
    H, P = case["hidden_size"], case.get("proj_size", 0)
    if case["cell"] == "gru":
        m = torch.nn.GRU(x_width, H, batch_first=True)
    else:
        m = torch.nn.LSTM(x_width, H, batch_first=True, proj_size=P)
    m = m.double()
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    own = dict(net.rnn.named_parameters())
    with torch.no_grad():
        for name, p in m.named_parameters():
            p.copy_(own[name.replace("_l0", suffix)])
    return m


def sigmoid(x):
    return torch.sigmoid(x)


def step_unit(case, net, layer, reverse, xs):
    """Run one unit over xs (T, X) a step at a time; returns h (T, S), c (T, H) or None and the
    gates {name: (T, H)}, in sequence order (a reverse unit's step t is after reading T-1..t)."""
    T, H = xs.shape[0], case["hidden_size"]
    m = unit_module(case, net, layer, reverse, xs.shape[1])
    w = dict(m.named_parameters())
    W_ih, W_hh, b_ih, b_hh = w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"]
    lstm = case["cell"] == "lstm"
    S = case.get("proj_size", 0) or H
    h = torch.zeros(1, 1, S, dtype=torch.float64)
    c = torch.zeros(1, 1, H, dtype=torch.float64)
    names = ["i", "f", "g", "o"] if lstm else ["r", "z", "n"]
    hs, cs, gates = [None] * T, [None] * T, {n: [None] * T for n in names}
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        x = xs[t]
        hp, cp = h.reshape(-1), c.reshape(-1)
        ai = W_ih @ x + b_ih
        ah = W_hh @ hp + b_hh
        with torch.no_grad():
            if lstm:
                y, (h, c) = m(x.reshape(1, 1, -1), (h, c))
                a = ai + ah
                i, f, g, o = sigmoid(a[:H]), sigmoid(a[H:2 * H]), torch.tanh(a[2 * H:3 * H]), sigmoid(a[3 * H:])
                c_eq = f * cp + i * g
                h_eq = o * torch.tanh(c_eq)
                if "weight_hr_l0" in w:
                    h_eq = w["weight_hr_l0"] @ h_eq
                assert torch.max(torch.abs(c_eq - c.reshape(-1))) < 1e-12
                vals = dict(i=i, f=f, g=g, o=o)
                cs[t] = c.reshape(-1).clone()
            else:
                y, h = m(x.reshape(1, 1, -1), h)
                r, z = sigmoid(ai[:H] + ah[:H]), sigmoid(ai[H:2 * H] + ah[H:2 * H])
                n = torch.tanh(ai[2 * H:] + r * ah[2 * H:])
                h_eq = (1 - z) * n + z * hp
                vals = dict(r=r, z=z, n=n)
            assert torch.max(torch.abs(h_eq - h.reshape(-1))) < 1e-12
            assert torch.max(torch.abs(y.reshape(-1) - h.reshape(-1))) < 1e-12
        hs[t] = h.reshape(-1).clone()
        for k, v in vals.items():
            gates[k][t] = v.detach().clone()
    return (torch.stack(hs), torch.stack(cs) if lstm else None, {k: torch.stack(v) for k, v in gates.items()})


def make_case(case):
    T, X, V = case["steps"], case["input_size"], case["output_size"]
    L, D = case["num_layers"], 2 if case.get("bidirectional") else 1
    torch.manual_seed(case["seed"])
    net = Net(case)
    arena = lstm_layout.tensors(dict(
        input_vocab=X if case["mode"] == "tokens" else 0, input_size=X, hidden_size=case["hidden_size"],
        num_layers=L, output_size=V, cell=1 if case["cell"] == "gru" else 0,
        proj_size=case.get("proj_size", 0), bidirectional=1 if D == 2 else 0))
    expected = [(t.name if t.unit is None else "rnn." + t.name, t.shape) for t in arena]
    got = [(n, tuple(p.shape)) for n, p in net.named_parameters()]
    assert got == expected, (got, expected)
    with torch.no_grad():
        for p in net.parameters():
            p.uniform_(-0.5, 0.5)  # float32 draws
    net = net.double()
    tokens = None
    if case["mode"] == "tokens":
        tokens = torch.randint(0, X, (T,))
        x = torch.nn.functional.one_hot(tokens, X).double()
    else:
        x = torch.randn(T, X, dtype=torch.float32).double()
    units, layer_in = [], x
    for layer in range(L):
        outs = []
        for d in range(D):
            h, c, gates = step_unit(case, net, layer, d == 1, layer_in)
            units.append(dict(layer=layer, direction="reverse" if d else "forward", h=flat(h),
                              c=flat(c) if c is not None else None, gates={k: flat(v) for k, v in gates.items()}))
            outs.append(h)
        layer_in = torch.cat(outs, dim=1)
    with torch.no_grad():
        y, _ = net.rnn(x.reshape(1, T, X))
        assert torch.max(torch.abs(y.reshape(T, -1) - layer_in)) < 1e-12, "stepped units differ from the whole model"
        head = net.out(layer_in)
        outputs = torch.softmax(head, dim=1) if case["head"] == "softmax" else head
    fx = {k: case.get(k, 0) for k in ("cell", "mode", "head", "input_size", "hidden_size", "num_layers",
                                      "output_size", "steps", "proj_size")}
    fx["bidirectional"] = D == 2
    fx["params"] = [v for p in net.parameters() for v in flat(p)]
    if tokens is not None:
        fx["tokens"] = [int(v) for v in tokens.tolist()]
    else:
        fx["inputs"] = flat(x)
    fx["units"] = units
    fx["outputs"] = flat(outputs)
    fx["torch_version"] = torch.__version__
    return fx


def main():
    torch.set_num_threads(1)
    for case in CASES:
        fx = make_case(case)
        path = os.path.join(OUT_DIR, case["name"])
        with open(path, "w") as f:
            json.dump(fx, f, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {path}: {len(fx['units'])} units x {case['steps']} steps, {len(fx['params'])} parameters")


if __name__ == "__main__":
    main()
