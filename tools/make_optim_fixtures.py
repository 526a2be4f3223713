"""Make tests/fixtures/optim_torch.json: torch.optim trajectories on fixed gradients, for lstm-wasm's optimizers."""

# Usage (needs PyTorch; Debian's python3-torch is visible to /usr/bin/python3):
#     /usr/bin/python3 tools/make_optim_fixtures.py            # (re)write the fixture
#     /usr/bin/python3 tools/make_optim_fixtures.py --check    # regenerate, compare with the committed file
#
# The parameters are the tensors of Model.create({ vocabSize: 3, hiddenSize: 2, layers: 1 }): six
# tensors of different shapes, 65 floats in all (not a multiple of 4, so the SIMD build's
# optimizer kernels run both their vector body and their scalar tail). Initial values and
# STEPS gradients are drawn with Python's own generator and rounded to float32, so they are
# the same bits on every machine and torch build. Each case then runs torch.optim on float32
# tensors, as the core computes in float32, and records every parameter after every step.
#
# lstm-wasm's optimizers (include/lstm.h, src/kernels_scalar.c), in torch's terms:
#   sgd      v = momentum*v + g; p -= lr*v                       torch.optim.SGD (dampening 0)
#   rmsprop  s = b2*s + (1-b2)*g^2; p -= lr*g/(sqrt(s)+eps)      torch.optim.RMSprop(alpha=b2)
#   adam     bias-corrected, eps added to sqrt(v_hat)            torch.optim.Adam
#   every optimizer's weight decay is DECOUPLED, p -= lr*wd*p      torch.optim.AdamW for Adam
#   clip_norm: one L2 norm over all tensors together              torch.nn.utils.clip_grad_norm_
# torch's SGD and RMSprop only have coupled (L2) decay, which adds wd*p to the gradient: for
# them the script applies decoupled decay itself with p.mul_(1 - lr*wd) before the torch step
# (weight_decay=0), which is exactly what torch.optim.AdamW does inside its step.
# torch's clipping scales by max_norm / (total_norm + 1e-6), ours by max_norm / total_norm:
# a relative difference of 1e-6/total_norm <= 5e-7 on the clipped steps here (total norms
# >= 2), a few float32 ulps of the gradient; it is inside the differences measured below.
#
# Hyperparameters are float32 values (np.float32 of round decimals) so torch and the core see
# the same numbers; for b in [0.5, 1) both compute 1 - b exactly.
#
# Before writing, every trajectory is checked against an independent float64 implementation of
# the formulas above (plain Python), and the largest difference, float32 rounding in torch,
# is stored per case as "float64_max_diff". Re-running gives an identical file on the same
# torch build; --check allows float differences (other BLAS/CPU builds round differently in
# the last bits) of up to CHECK_ATOL, and compares everything drawn (values, gradients, norms,
# settings) exactly.

import json
import math
import os
import random
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # no tools/__pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lstm_layout  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "optim_torch.json")

SEED = 20240611
MODEL = {"vocabSize": 3, "hiddenSize": 2, "layers": 1}
CLIP_NORM = 1.0
# The global L2 norm of each step's gradient: clipping to CLIP_NORM acts on steps 2, 4 and 6
# and not on 1, 3 and 5. Each is far from CLIP_NORM, so no rounding can flip the decision.
STEP_NORMS = [0.4, 3.0, 0.7, 6.0, 0.05, 2.0]
# torch float32 vs the float64 formulas: measured <= 1.1e-7 here (parameters below 0.8, where a
# float32 ulp is 6e-8); a wrong formula moves parameters by 5e-3 or more.
REF_ATOL = 1e-6
# --check: a fresh run on another torch/BLAS build vs the committed values (float32 rounding).
CHECK_ATOL = 1e-6
MAX_FILE_BYTES = 80 * 1024


def f32(x):
    """The float32 nearest x, as a Python float."""
    return float(np.float32(x))


def short(x):
    """A float32 value written with the fewest digits that read back to the same float32."""
    return float(repr(np.float32(x)))


# (name, shape) of MODEL's tensors in arena order (tools/lstm_layout.py)
LAYOUT = [(t.name, list(t.shape)) for t in lstm_layout.tensors(dict(
    input_vocab=MODEL["vocabSize"], input_size=0, hidden_size=MODEL["hiddenSize"], num_layers=MODEL["layers"],
    output_size=MODEL["vocabSize"]))]
SIZES = [math.prod(shape) for _, shape in LAYOUT]
N = sum(SIZES)


def optimizer(type_, lr, momentum=0.0, beta1=0.9, beta2=0.999, epsilon=1e-8, decay=0.0):
    return {"type": type_, "learningRate": f32(lr), "momentum": f32(momentum), "beta1": f32(beta1),
            "beta2": f32(beta2), "epsilon": f32(epsilon), "weightDecay": f32(decay)}


# Settings in the JS API's terms (model.setOptimizer); each case runs without and with clipping.
# Decay is large enough to matter within 6 steps (lr*wd*|p| ~ 1e-3 a step). SGD's decay case has
# momentum: without it coupled and decoupled decay are the same update. RMSprop's eps is 1e-3 so
# that where it is added (to sqrt(s), not inside it) changes the result well beyond rounding;
# Adam's 1e-6 is near the smallest gradients (~1e-6), so its place matters there too.
BASE_CASES = [
    ("sgd", optimizer("sgd", 0.0625)),
    ("sgd_momentum", optimizer("sgd", 0.0625, momentum=0.9)),
    ("sgd_momentum_decay", optimizer("sgd", 0.0625, momentum=0.9, decay=0.25)),
    ("rmsprop", optimizer("rmsprop", 0.01, beta2=0.99, epsilon=1e-3)),
    ("rmsprop_decay", optimizer("rmsprop", 0.01, beta2=0.99, epsilon=1e-3, decay=0.25)),
    ("adam", optimizer("adam", 0.01, beta1=0.9, beta2=0.999, epsilon=1e-6)),
    ("adamw", optimizer("adam", 0.01, beta1=0.9, beta2=0.999, epsilon=1e-6, decay=0.1)),
]


def draw_inputs():
    """Initial parameters and STEP_NORMS gradients, float32 values from Python's generator."""
    rnd = random.Random(SEED)
    initial = [f32(rnd.uniform(-0.5, 0.5)) for _ in range(N)]
    grads = []
    for step, norm in enumerate(STEP_NORMS):
        g = []
        for (name, shape), size in zip(LAYOUT, SIZES):
            # per tensor a different scale each step, per element magnitudes over three decades:
            # the tensors' own norms differ (per-tensor clipping would give another result) and
            # some elements are tiny (eps matters for them)
            scale = 10 ** rnd.uniform(-1.5, 0.5)
            block = [scale * rnd.gauss(0.0, 1.0) * 10 ** rnd.uniform(-3, 0) for _ in range(size)]
            if name == "weight_ih_l0" and step < 2:
                # token 1's column gets no gradient in the first two steps (a token absent from
                # those batches): its moments start later than the others'
                cols = shape[1]
                block = [0.0 if i % cols == 1 else v for i, v in enumerate(block)]
            g += block
        total = math.sqrt(sum(v * v for v in g))
        grads.append([f32(v * norm / total) for v in g])
    return initial, grads


def l2(values):
    return math.sqrt(math.fsum(v * v for v in values))


def blocks(flat):
    out, pos = [], 0
    for size in SIZES:
        out.append(flat[pos:pos + size])
        pos += size
    return out


def run_torch(opt, clip, initial, grads):
    """Parameters after each step, float32, as flat lists."""
    params = [torch.tensor(b, dtype=torch.float32).reshape(shape).requires_grad_()
              for b, (_, shape) in zip(blocks(initial), LAYOUT)]
    lr, wd = opt["learningRate"], opt["weightDecay"]
    if opt["type"] == "sgd":
        torch_opt = torch.optim.SGD(params, lr=lr, momentum=opt["momentum"], dampening=0.0,
                                    weight_decay=0.0, foreach=False)
    elif opt["type"] == "rmsprop":
        torch_opt = torch.optim.RMSprop(params, lr=lr, alpha=opt["beta2"], eps=opt["epsilon"],
                                        weight_decay=0.0, momentum=0.0, centered=False, foreach=False)
    elif wd > 0:
        torch_opt = torch.optim.AdamW(params, lr=lr, betas=(opt["beta1"], opt["beta2"]),
                                      eps=opt["epsilon"], weight_decay=wd, foreach=False)
    else:
        torch_opt = torch.optim.Adam(params, lr=lr, betas=(opt["beta1"], opt["beta2"]),
                                     eps=opt["epsilon"], weight_decay=0.0, foreach=False)
    emulate_decay = opt["type"] != "adam" and wd > 0
    out = []
    for g in grads:
        for p, b, (_, shape) in zip(params, blocks(g), LAYOUT):
            p.grad = torch.tensor(b, dtype=torch.float32).reshape(shape)
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        if emulate_decay:
            with torch.no_grad():
                for p in params:
                    p.mul_(1 - lr * wd)  # decoupled decay, as AdamW does before its update
        torch_opt.step()
        out.append([float(v) for p in params for v in p.detach().reshape(-1).tolist()])
    return out


def run_float64(opt, clip, initial, grads):
    """The same trajectory from the formulas of include/lstm.h in float64, without torch."""
    p = list(initial)
    m1, m2 = [0.0] * N, [0.0] * N
    lr, wd, mom = opt["learningRate"], opt["weightDecay"], opt["momentum"]
    b1, b2, eps = opt["beta1"], opt["beta2"], opt["epsilon"]
    out = []
    for t, g in enumerate(grads, start=1):
        norm = l2(g)
        if clip > 0 and norm > clip:
            g = [v * clip / norm for v in g]
        for i in range(N):
            if opt["type"] == "sgd":
                m1[i] = mom * m1[i] + g[i]
                step = m1[i]
            elif opt["type"] == "rmsprop":
                m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i]
                step = g[i] / (math.sqrt(m2[i]) + eps)
            else:
                m1[i] = b1 * m1[i] + (1 - b1) * g[i]
                m2[i] = b2 * m2[i] + (1 - b2) * g[i] * g[i]
                step = (m1[i] / (1 - b1 ** t)) / (math.sqrt(m2[i] / (1 - b2 ** t)) + eps)
            p[i] -= lr * (step + wd * p[i])
        out.append(list(p))
    return out


def max_diff(a, b):
    return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def make():
    initial, grads = draw_inputs()
    cases = []
    for name, opt in BASE_CASES:
        for clip in (0.0, CLIP_NORM):
            full = dict(opt, clipNorm=clip)
            params = run_torch(full, clip, initial, grads)
            ref = run_float64(full, clip, initial, grads)
            cases.append({
                "name": name + ("_clip" if clip > 0 else ""),
                "optimizer": full,
                "float64_max_diff": float(f"{max_diff(params, ref):.2g}"),
                "params": [[short(v) for v in row] for row in params],
            })
    return {
        "about": "torch.optim on fixed gradients; made by tools/make_optim_fixtures.py",
        "torch_version": torch.__version__,
        "model": MODEL,
        "tensors": [{"name": n, "shape": s} for n, s in LAYOUT],
        "clip_norm": CLIP_NORM,
        "grad_norms": [l2(g) for g in grads],
        "initial": [short(v) for v in initial],
        "gradients": [[short(v) for v in g] for g in grads],
        "cases": cases,
    }


def dumps(fx):
    return json.dumps(fx, separators=(",", ":")) + "\n"


def verify(fx):
    """Properties the test relies on, checked on the fixture as read back from JSON."""
    is_f32 = lambda v: short(v) == v  # the shortest form of a float32 value
    assert [t["name"] for t in fx["tensors"]] == [n for n, _ in LAYOUT]
    assert len(fx["initial"]) == N and all(is_f32(v) and -0.5 <= v <= 0.5 for v in fx["initial"])
    assert len(fx["gradients"]) == len(STEP_NORMS) >= 6
    assert all(len(g) == N and all(map(is_f32, g)) for g in fx["gradients"])
    initial = [f32(v) for v in fx["initial"]]
    grads = [[f32(v) for v in g] for g in fx["gradients"]]
    clipped = [l2(g) > CLIP_NORM for g in grads]
    assert 2 <= sum(clipped) <= len(grads) - 2, clipped  # clipping acts on some steps, not on others
    for g, c in zip(grads, clipped):
        norms = [l2(b) for b in blocks(g)]
        assert abs(l2(g) / CLIP_NORM - 1) > 0.1, l2(g)  # no step near the threshold
        # on a clipped step some tensor is below the limit by itself: clipping each tensor
        # separately would leave it unscaled, clipping them together scales it
        assert not c or min(norms) < CLIP_NORM, norms
    by_name = {c["name"]: c for c in fx["cases"]}
    for c in fx["cases"]:
        opt = c["optimizer"]
        params = [[f32(v) for v in row] for row in c["params"]]
        assert len(params) == len(grads) and all(len(r) == N for r in params)
        assert all(math.isfinite(v) for r in params for v in r)
        d = max_diff(params, run_float64(opt, opt["clipNorm"], initial, grads))
        assert d <= REF_ATOL, (c["name"], "torch float32 vs float64 formulas", d)
        if opt["clipNorm"] > 0:  # clipping changes the trajectory far beyond rounding
            other = [[f32(v) for v in r] for r in by_name[c["name"][:-len("_clip")]]["params"]]
            assert max_diff(params, other) > 1e-3, c["name"]


def summary(fx):
    for c in fx["cases"]:
        print(f"  {c['name']:<24} torch float32 vs float64 formulas: {c['float64_max_diff']:.1e}")


def check():
    with open(OUT) as f:
        committed = json.load(f)
    fresh = json.loads(dumps(make()))
    bad = []
    for key in ("model", "tensors", "clip_norm", "grad_norms", "initial", "gradients"):
        if committed[key] != fresh[key]:
            bad.append(key)
    if [c["name"] for c in committed["cases"]] != [c["name"] for c in fresh["cases"]]:
        bad.append("case names")
    worst = 0.0
    for a, b in zip(committed["cases"], fresh["cases"]):
        if a["optimizer"] != b["optimizer"]:
            bad.append(f"{a['name']}.optimizer")
        d = max_diff(a["params"], b["params"])
        worst = max(worst, d)
        if not d <= CHECK_ATOL:
            bad.append(f"{a['name']}.params (max diff {d:.2e})")
    try:
        verify(committed)
    except AssertionError as e:
        bad.append(f"its own checks ({e})")
    if bad:
        print(f"{os.path.relpath(OUT, ROOT)} differs from a fresh run: {', '.join(bad)}", file=sys.stderr)
        return 1
    print(f"{os.path.relpath(OUT, ROOT)} reproduces: inputs identical, parameters within {CHECK_ATOL:g} "
          f"(max diff {worst:.1e}, torch {torch.__version__} here, {committed['torch_version']} committed)")
    return 0


def main():
    torch.set_default_dtype(torch.float32)
    if "--check" in sys.argv[1:]:
        return check()
    text = dumps(make())
    with open(OUT, "w") as f:
        f.write(text)
    with open(OUT) as f:
        fx = json.load(f)
    verify(fx)
    size = os.path.getsize(OUT)
    assert size <= MAX_FILE_BYTES, size
    print(f"{os.path.relpath(OUT, ROOT)}: {size} bytes, {len(fx['cases'])} cases x {len(STEP_NORMS)} steps "
          f"x {N} parameters (verified)")
    summary(fx)
    return 0


if __name__ == "__main__":
    sys.exit(main())
