#!/usr/bin/python3
"""PyTorch (CPU) reference figures for the lstm-wasm benchmarks, on a given number of threads.

    /usr/bin/python3 bench/torch_bench.py [--threads N] [--workloads W1,W2,G1,G2] [--seconds S]
                                          [--repeats R] [--gen-chars N] [--data PATH] [--seed N]

Meant for Debian's python3-torch (1.13) with the system BLAS (libblas.so.3 -> OpenBLAS via
update-alternatives when libopenblas0-pthread is installed).  Everything runs on N threads
(default 1): OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS are set to N before
torch is imported, then torch.set_num_threads(N) and torch.set_num_interop_threads(1); if the
OpenBLAS in the process exports openblas_set_num_threads, it is also called with N.

Model: one-hot input built with F.one_hot(x, V).float() (no embedding layer) ->
nn.LSTM(V, H, num_layers=2, batch_first=True) -> nn.Linear(H, V).

Training (W1, W2): char-rnn batches (B stripes of the text; each step the next T chars of
every stripe as input and the chars one later as targets; a stripe wraps to its start at the
end).  The hidden state is carried between batches (detached).  Loss = F.cross_entropy over
all B*T positions, Adam(lr 2e-3), clip_grad_norm_(params, 5).  Batch building (slice +
one-hot) is inside the timed step.  2 untimed warm-up steps, then R repeats of as many steps
as fit in S seconds (at least 2); chars/s = steps*B*T / time; median reported.

Generation (G1, G2): the same layer shapes, batch 1, untrained weights; one char per
forward call under torch.no_grad(), state carried, softmax + torch.multinomial with a seeded
torch.Generator, the sampled char fed back.  50 warm-up chars (untimed), then R timed repeats
of N chars (state reset to zero at the start of each repeat); median reported.

Progress goes to stderr; the last line of stdout is one JSON object.
"""

import os
import sys

# The thread count must be known before torch (and its OpenMP / OpenBLAS) is loaded.
THREADS = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(THREADS)

import argparse
import ctypes
import json
import re
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(THREADS)
torch.set_num_interop_threads(1)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

WORKLOADS = {
    "W1": dict(kind="train", layers=2, hidden=128, seq=50, batch=50),
    "W2": dict(kind="train", layers=2, hidden=512, seq=64, batch=32),
    "G1": dict(kind="gen", layers=2, hidden=128),
    "G2": dict(kind="gen", layers=2, hidden=512),
}
LR = 2e-3
CLIP_NORM = 5.0
WARMUP_STEPS = 2
WARMUP_GEN_CHARS = 50


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def die(msg):
    log(f"torch_bench: {msg}")
    sys.exit(2)


def parse_args():
    p = argparse.ArgumentParser(description="PyTorch LSTM reference benchmark")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workloads", default="W1,W2,G1,G2")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--gen-chars", type=int, default=2000)
    p.add_argument("--data", default=os.path.join(REPO, "..", "shared", "data", "tinyshakespeare.txt"))
    p.add_argument("--seed", type=int, default=1234)
    o = p.parse_args()
    o.workloads = [w.strip().upper() for w in o.workloads.split(",") if w.strip()]
    for w in o.workloads:
        if w not in WORKLOADS:
            die(f"unknown workload {w!r} (known: {','.join(WORKLOADS)})")
    if o.repeats < 1 or o.gen_chars < 1 or not (o.seconds >= 0):
        die("--repeats and --gen-chars must be >= 1, --seconds >= 0")
    o.data = os.path.abspath(o.data)
    return o


# ---------------------------------------------------------------- BLAS detection
def detect_blas():
    """Which BLAS does this process actually use?  Run a matmul so everything is loaded,
    then look at the shared objects mapped into the process and ask OpenBLAS itself."""
    a = torch.randn(256, 256)
    (a @ a).sum().item()
    info = {"build_blas_info": None, "libs": [], "openblas_config": None,
            "openblas_threads": None, "openblas_set_threads": False}
    cfg = torch.__config__.show()
    m = re.search(r"\bBLAS_INFO=([^,\s]+)", cfg)
    if m:
        info["build_blas_info"] = m.group(1)
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 6:
                    pth = fields[5]
                    base = os.path.basename(pth).lower()
                    if any(k in base for k in ("blas", "lapack", "mkl", "blis", "atlas")):
                        libs.add(os.path.realpath(pth))
    except OSError:
        pass
    info["libs"] = sorted(libs)

    # Ask the library behind libblas.so.3 (as already loaded; RTLD_NOLOAD where possible).
    handle = None
    for name in ("libblas.so.3", "libopenblas.so.0"):
        try:
            handle = ctypes.CDLL(name, mode=getattr(os, "RTLD_NOLOAD", 0) | os.RTLD_GLOBAL)
        except OSError:
            handle = None
        if handle is not None and hasattr(handle, "openblas_get_config"):
            break
        handle = None
    if handle is not None:
        try:
            handle.openblas_get_config.restype = ctypes.c_char_p
            info["openblas_config"] = handle.openblas_get_config().decode(errors="replace").strip()
        except Exception:  # noqa: BLE001
            pass
        try:
            handle.openblas_set_num_threads(THREADS)
            info["openblas_set_threads"] = True
        except Exception:  # noqa: BLE001
            pass
        try:
            info["openblas_threads"] = int(handle.openblas_get_num_threads())
        except Exception:  # noqa: BLE001
            pass

    joined = " ".join(info["libs"]).lower()
    if info["openblas_config"] is not None or "openblas" in joined:
        name = "openblas"
    elif "mkl" in joined:
        name = "mkl"
    elif "blis" in joined:
        name = "blis"
    elif "atlas" in joined:
        name = "atlas"
    elif "/blas/libblas" in joined:
        name = "reference-blas"
    else:
        name = info["build_blas_info"] or "unknown"
    return name, info


# ---------------------------------------------------------------- model
class CharLSTM(nn.Module):
    def __init__(self, V, hidden, layers):
        super().__init__()
        self.V = V
        self.lstm = nn.LSTM(V, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, V)

    def forward(self, x_ids, state=None):
        x = F.one_hot(x_ids, self.V).float()          # [B, T, V]
        out, state = self.lstm(x, state)               # [B, T, H]
        return self.head(out), state                   # [B, T, V]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def rnd(x, d=1):
    return round(float(x), d)


# ---------------------------------------------------------------- training
def bench_train(name, w, ids, V, opts):
    B, T, H, L = w["batch"], w["seq"], w["hidden"], w["layers"]
    torch.manual_seed(opts.seed)
    model = CharLSTM(V, H, L)
    model.train()
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    S = (ids.numel() - 1) // B
    if S < T + 1:
        die(f"{name}: text too short for B={B} T={T}")
    stripes = ids[: B * S].view(B, S)
    log(f"{name}: {L}x{H} LSTM, B={B} T={T}, {n_params(model)} params, stripe length {S}")

    st = {"pos": 0, "state": None}

    def step():
        pos = st["pos"]
        if pos + T + 1 > S:
            pos = 0
        x = stripes[:, pos:pos + T].long()
        y = stripes[:, pos + 1:pos + T + 1].long()
        st["pos"] = pos + T
        state = st["state"]
        if state is not None:
            state = tuple(s.detach() for s in state)
        logits, new_state = model(x, state)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        opt.step()
        st["state"] = new_state
        return loss.item()

    losses = []
    t0 = time.perf_counter()
    for _ in range(WARMUP_STEPS):
        losses.append(step())
    log(f"{name}: warm-up {WARMUP_STEPS} steps {time.perf_counter() - t0:.2f} s, "
        f"loss {' '.join(f'{l:.4f}' for l in losses)}")

    runs, run_steps = [], []
    for r in range(opts.repeats):
        steps = 0
        t0 = time.perf_counter()
        while True:
            losses.append(step())
            steps += 1
            el = time.perf_counter() - t0
            if el >= opts.seconds and steps >= 2:
                break
        cps = steps * B * T / el
        runs.append(rnd(cps))
        run_steps.append(steps)
        log(f"{name}: repeat {r + 1}/{opts.repeats}: {steps} steps in {el:.2f} s = {cps:.1f} chars/s, "
            f"{el / steps * 1000:.1f} ms/step, loss {losses[-1]:.4f}")
    med = statistics.median(runs)
    last10 = losses[-10:]
    return {
        "chars_per_s": rnd(med),
        "runs": runs,
        "run_steps": run_steps,
        "ms_per_step": rnd(B * T / med * 1000, 2),
        "steps_total": len(losses),
        "loss_first": rnd(losses[0], 4),
        "loss_last": rnd(losses[-1], 4),
        "loss_last10_mean": rnd(sum(last10) / len(last10), 4),
        "batch": B, "seq": T, "hidden": H, "layers": L, "params": n_params(model),
        "clip": True,
    }


# ---------------------------------------------------------------- generation
def bench_gen(name, w, V, start, vocab, opts):
    H, L, N = w["hidden"], w["layers"], opts.gen_chars
    torch.manual_seed(opts.seed)
    model = CharLSTM(V, H, L)
    model.eval()
    gen = torch.Generator().manual_seed(opts.seed)
    log(f"{name}: {L}x{H} LSTM, batch 1, {N} chars per repeat, {n_params(model)} params (untrained)")

    def generate(n):
        out = []
        state = None
        c = start
        with torch.no_grad():
            for _ in range(n):
                x = torch.tensor([[c]], dtype=torch.long)
                logits, state = model(x, state)
                p = torch.softmax(logits[0, -1], dim=-1)
                c = int(torch.multinomial(p, 1, generator=gen).item())
                out.append(c)
        return out

    # sanity: the state must carry (same input twice gives different outputs)
    with torch.no_grad():
        x = torch.tensor([[start]], dtype=torch.long)
        a, s1 = model(x, None)
        b, _ = model(x, s1)
        diff = (a - b).abs().max().item()
    if not diff > 0:
        log(f"{name}: WARNING: state does not seem to carry between calls (diff {diff})")

    t0 = time.perf_counter()
    generate(WARMUP_GEN_CHARS)
    log(f"{name}: warm-up {WARMUP_GEN_CHARS} chars {(time.perf_counter() - t0) * 1000:.1f} ms")

    runs = []
    sample = ""
    for r in range(opts.repeats):
        t0 = time.perf_counter()
        out = generate(N)
        el = time.perf_counter() - t0
        cps = N / el
        runs.append(rnd(cps))
        if r == 0:
            sample = "".join(vocab[i] for i in out[:60])
        log(f"{name}: repeat {r + 1}/{opts.repeats}: {N} chars in {el:.3f} s = {cps:.1f} chars/s")
    log(f"{name}: sample (untrained): {json.dumps(sample)}")
    med = statistics.median(runs)
    return {
        "chars_per_s": rnd(med),
        "runs": runs,
        "chars": N,
        "ms_per_char": rnd(1000 / med, 3),
        "hidden": H, "layers": L, "params": n_params(model),
        "init": "untrained (PyTorch default init)",
        "temperature": 1.0,
        "sampler": "softmax + torch.multinomial (seeded torch.Generator)",
    }


# ---------------------------------------------------------------- main
def main():
    opts = parse_args()
    t_start = time.perf_counter()
    blas, blas_info = detect_blas()
    log(f"torch {torch.__version__}, threads {torch.get_num_threads()} (interop "
        f"{torch.get_num_interop_threads()}), blas {blas}: {', '.join(blas_info['libs']) or '?'}")
    if blas_info["openblas_config"]:
        log(f"openblas config: {blas_info['openblas_config']}, threads {blas_info['openblas_threads']}")

    try:
        with open(opts.data, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        die(f"cannot read data {opts.data}: {e}")
    vocab = sorted(set(text))
    V = len(vocab)
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.uint8 if V <= 256 else torch.int64)
    log(f"data {opts.data}: {len(text)} chars, V={V}")
    start = index.get("\n", 0)

    results = {}
    for name in opts.workloads:
        w = WORKLOADS[name]
        if w["kind"] == "train":
            results[name] = bench_train(name, w, ids, V, opts)
        else:
            results[name] = bench_gen(name, w, V, start, vocab, opts)

    out = {
        "system": "pytorch",
        "version": torch.__version__,
        "threads": THREADS,
        "torch_threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "blas": blas,
        "blas_libs": blas_info["libs"],
        "openblas_config": blas_info["openblas_config"],
        "openblas_threads": blas_info["openblas_threads"],
        "build_blas_info": blas_info["build_blas_info"],
        "input": "F.one_hot(x, V).float()",
        "optimizer": f"Adam lr {LR}",
        "clip_norm": CLIP_NORM,
        "seconds": opts.seconds,
        "repeats": opts.repeats,
        "gen_chars": opts.gen_chars,
        "seed": opts.seed,
        "vocab": V,
        "data": opts.data,
        "results": results,
    }
    log(f"total {time.perf_counter() - t_start:.1f} s")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
