#!/usr/bin/env python3
"""Convert PyTorch LSTM weights to lstm-wasm model files and back.

Needs PyTorch (on Debian: apt-get install python3-torch, then run with /usr/bin/python3), and
lstm_layout.py and lstm_layout.json beside this file (the parameter layout: copy tools/ whole).
The lstm-wasm package itself never needs Python or torch.

    # PyTorch -> lstm-wasm
    /usr/bin/python3 tools/torch_convert.py to-lstm model.pt -o model.lstm --vocab vocab.json
    # lstm-wasm -> PyTorch (a checkpoint dict; see LstmWasmModel below)
    /usr/bin/python3 tools/torch_convert.py from-lstm model.lstm -o model.pt
    # what a file holds
    /usr/bin/python3 tools/torch_convert.py show model.pt|model.lstm

Expected module layout (the names of LstmWasmModel; the converter also finds other names,
see find_layout, or takes them from --lstm/--embedding/--head):

    embedding.weight      (V_in, E)   optional nn.Embedding; without it the input is one-hot
                                      over V_in tokens (or, with --input dense, a float vector)
    lstm.weight_ih_l{k}   (4H, X_k)   nn.LSTM, k = 0..L-1 (or nn.GRU: 3H rows, gru.* in
    lstm.weight_hh_l{k}   (4H, S)     LstmWasmModel), batch_first either way (it does not
    lstm.bias_ih_l{k}     (4H)        change the weights), bias=False is allowed (zero biases
    lstm.bias_hh_l{k}     (4H)        are written); with proj_size P: S = P and
    lstm.weight_hr_l{k}   (P, H)      weight_hr_l{k}; bidirectional: each tensor again with the
                                      suffix _reverse, X_k = 2S for k > 0
    out.weight            (V, D*S)    nn.Linear head applied to the top layer's output at every
    out.bias              (V)         step (optional bias); D = 2 when bidirectional

lstm-wasm has no embedding layer: its token input has one-hot semantics (the input product
is the column W_ih_l0[:, token]). An nn.Embedding is therefore folded into the first layer:
W_ih_l0 (4H, V_in) = W_ih_l0 (4H, E) @ embedding.weight^T (E, V_in), computed in float64 and
rounded once to float32. This is exact for any token (the same logits up to float32
rounding); only the parameter count changes (4H*V_in instead of V_in*E + 4H*E). An embedding
with max_norm cannot be folded (its lookup renormalises rows) and is rejected.

from-lstm writes the one-hot form: a checkpoint {"state_dict", "vocab", "config", "metadata",
"format"} whose state_dict has lstm.* and out.* only, for LstmWasmModel(embedding_dim=None).
The embedding is not reconstructed (it cannot be: the factorisation is not unique).
With --embedding identity it adds embedding.weight = I (V_in x V_in), which makes an
nn.Embedding(V_in, V_in) model with exactly the same outputs.

Format version 2 files (an MSE head, or scoring at the last step only: config words head and
last_step_only) are read and written too; the PyTorch module is the same (for last_step_only
models use logits[:, -1], for an MSE head the outputs are values rather than logits), and
to-lstm sets them with --loss mse and --last-step-only.

nn.LSTM (with or without proj_size) and nn.GRU, uni- or bidirectional, convert both ways.
For a last_step_only model the output is LstmWasmModel.final(x): the head on the last step, or
for a bidirectional model on each direction's final state [h_fwd(T-1), h_rev(0)].
nn.RNN is rejected, and so are lstm-wasm's variants that no PyTorch module has (peephole, CIFG,
relu activation, layer norm), each with a message and exit status 2.

Exit status: 0 done, 1 unreadable/damaged input, 2 unsupported model or bad arguments.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # importing lstm_layout leaves no __pycache__ beside this file
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
try:
    import lstm_layout  # the arena's tensors, from lstm_layout.json
except ModuleNotFoundError as e:
    if e.name != "lstm_layout":
        raise
    raise ImportError(f"{os.path.join(HERE, 'lstm_layout.py')} is missing: torch_convert.py needs it and "
                      "lstm_layout.json beside it (copy them from lstm-wasm's tools/)") from e
from lstm_file import CELLS, HEADS, LIMITS, MAGIC, ConvertError, read_lstm, write_lstm  # noqa: E402

# lstm-wasm variants that no PyTorch module computes: such models cannot be exported
NO_TORCH_EQUIVALENT = {"peephole": "peephole weights", "cifg": "a coupled input/forget gate",
                       "activation": "the relu activation", "layer_norm": "layer normalisation",
                       "recurrent_activation": "hard-sigmoid gates",
                       "gru_reset_before": "a GRU reset gate applied before its recurrent product"}


# ---------------------------------------------------------------------------
# the PyTorch side

def _torch():
    try:
        import torch
    except ImportError:
        raise ConvertError("PyTorch is not importable from this Python (on Debian: apt-get install "
                           "python3-torch, and run /usr/bin/python3)", 2)
    return torch


def reference_module_class():
    """LstmWasmModel: the PyTorch module that lstm-wasm models map to, name for name."""
    torch = _torch()
    nn = torch.nn

    class LstmWasmModel(nn.Module):
        """embedding (optional) -> lstm (nn.LSTM) or gru (nn.GRU), batch_first -> out (nn.Linear).

        token_input=True: forward takes (B, T) int64 token ids; with embedding_dim None they
        are one-hot encoded (what lstm-wasm does), else looked up in self.embedding.
        token_input=False: forward takes (B, T, input_size) floats.
        forward returns (outputs at every step (B, T, output_size), final state); final(x) the
        outputs of a last_step_only model (B, output_size): the head on the last step, or for
        a bidirectional model on each direction's final state [h_fwd(T-1), h_rev(0)].
        """

        def __init__(self, input_size, hidden_size, num_layers, output_size, token_input=True,
                     embedding_dim=None, dropout=0.0, cell="lstm", bidirectional=False, proj_size=0):
            super().__init__()
            self.input_size = input_size
            self.token_input = token_input
            self.cell = cell
            self.embedding = nn.Embedding(input_size, embedding_dim) if embedding_dim else None
            kw = dict(batch_first=True, dropout=dropout if num_layers > 1 else 0.0, bidirectional=bidirectional)
            if cell == "gru":
                self.gru = nn.GRU(embedding_dim or input_size, hidden_size, num_layers, **kw)
            else:
                self.lstm = nn.LSTM(embedding_dim or input_size, hidden_size, num_layers, proj_size=proj_size, **kw)
            self.out = nn.Linear((2 if bidirectional else 1) * (proj_size or hidden_size), output_size)

        def _inputs(self, x):
            if not self.token_input:
                return x
            if self.embedding is not None:
                return self.embedding(x)
            return torch.nn.functional.one_hot(x, self.input_size).to(self.out.weight.dtype)

        def forward(self, x, state=None):
            y, state = (self.gru if self.cell == "gru" else self.lstm)(self._inputs(x), state)
            return self.out(y), state

        def final(self, x):
            rnn = self.gru if self.cell == "gru" else self.lstm
            y, _ = rnn(self._inputs(x))
            if rnn.bidirectional:
                S = y.shape[-1] // 2
                return self.out(torch.cat([y[:, -1, :S], y[:, 0, S:]], dim=-1))
            return self.out(y[:, -1])

    return LstmWasmModel


def load_torch_file(path, allow_pickle=False):
    """torch.load a state_dict, a checkpoint dict holding one, or (with allow_pickle) a whole
    module. Returns (state_dict of tensors, extras dict, module or None)."""
    torch = _torch()
    if not os.path.exists(path):
        raise ConvertError(f"{path}: no such file", 1)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds
        hint = ("" if allow_pickle else " (if it is a whole pickled nn.Module, save model.state_dict() "
                "instead, or pass --allow-pickle for a file you trust)")
        raise ConvertError(f"{path}: torch.load failed: {str(e).splitlines()[0]}{hint}", 1)
    module = None
    extras = {}
    if isinstance(obj, torch.nn.Module):
        module = obj
        obj = obj.state_dict()
    elif isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                extras = {k: v for k, v in obj.items() if k != key}
                obj = obj[key]
                break
            if key in obj and isinstance(obj[key], torch.nn.Module):
                extras = {k: v for k, v in obj.items() if k != key}
                module = obj[key]
                obj = module.state_dict()
                break
    if not isinstance(obj, dict) or not obj:
        raise ConvertError(f"{path}: expected a state_dict (a dict of tensors), got {type(obj).__name__}")
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not sd:
        raise ConvertError(f"{path}: the dict holds no tensors")
    return sd, extras, module


def check_modules(module):
    """Reject module kinds we cannot run, by type, when the module object is available."""
    if module is None:
        return
    torch = _torch()
    for name, m in module.named_modules():
        where = f" ({name})" if name else ""
        if isinstance(m, torch.nn.RNN):
            raise ConvertError(f"nn.RNN{where} is not supported: lstm-wasm has LSTM and GRU cells, no plain RNN.")
        if isinstance(m, torch.nn.Embedding) and m.max_norm is not None:
            raise ConvertError(f"nn.Embedding{where} has max_norm={m.max_norm}: its lookup renormalises "
                               "rows, so it cannot be folded into the LSTM's input weights")


def find_layout(sd, lstm=None, embedding=None, head=None):
    """Find the LSTM prefix, the embedding key and the head prefix in a state_dict.

    lstm: prefix such that f"{prefix}weight_ih_l0" is a key ("lstm." for LstmWasmModel, "" for
    a bare nn.LSTM). embedding: the embedding's weight key, or "none". head: prefix of the
    nn.Linear head ("out." -> out.weight, out.bias). Unset ones are found from the shapes.
    """
    keys = list(sd)
    if lstm is None:
        prefixes = sorted({k[:-len("weight_ih_l0")] for k in keys if k.endswith("weight_ih_l0")})
        if not prefixes:
            raise ConvertError("no recurrent layer found: expected keys like lstm.weight_ih_l0 (an nn.LSTM). "
                               f"Keys present: {', '.join(keys[:12])}{' ...' if len(keys) > 12 else ''}")
        if len(prefixes) > 1:
            raise ConvertError(f"several recurrent modules ({', '.join(p or '<root>' for p in prefixes)}): choose one with --lstm")
        lstm = prefixes[0]
    elif lstm and not lstm.endswith("."):
        lstm += "."
    if f"{lstm}weight_ih_l0" not in sd:
        raise ConvertError(f"{lstm}weight_ih_l0 is not in the state_dict")
    w_ih0, w_hh0 = sd[f"{lstm}weight_ih_l0"], sd.get(f"{lstm}weight_hh_l0")
    if w_hh0 is None or w_ih0.dim() != 2 or w_hh0.dim() != 2:
        raise ConvertError(f"{lstm}weight_hh_l0 is missing or not a matrix")
    D = 2 if f"{lstm}weight_ih_l0_reverse" in sd else 1
    rows, cols = w_hh0.shape
    P = 0
    if f"{lstm}weight_hr_l0" in sd:  # nn.LSTM(proj_size=P): weight_hr (P, H), weight_hh (4H, P)
        w_hr0 = sd[f"{lstm}weight_hr_l0"]
        if w_hr0.dim() != 2 or w_hr0.shape[0] != cols or rows != 4 * w_hr0.shape[1]:
            raise ConvertError(f"{lstm}weight_hr_l0 {tuple(w_hr0.shape)} does not fit weight_hh_l0 ({rows}, {cols}) "
                               "as an nn.LSTM with proj_size")
        P, H, cell = cols, w_hr0.shape[1], "lstm"
    elif rows == 3 * cols:
        H, cell = cols, "gru"
    elif rows == cols:
        raise ConvertError(f"{lstm}weight_hh_l0 is ({rows}, {cols}) = (H, H): this is an nn.RNN, which is not "
                           "supported: lstm-wasm has LSTM and GRU cells, no plain RNN.")
    elif rows == 4 * cols:
        H, cell = cols, "lstm"
    else:
        raise ConvertError(f"{lstm}weight_hh_l0 is ({rows}, {cols}); an nn.LSTM has (4H, H), an nn.GRU (3H, H)")
    S = P or H
    L = 0
    while f"{lstm}weight_ih_l{L}" in sd:
        L += 1
    X = w_ih0.shape[1]
    # the recurrent tensors such a model has, by name, with their PyTorch shapes
    expect = {t.name: t.shape for t in lstm_layout.tensors(dict(
        input_vocab=0, input_size=X, hidden_size=H, num_layers=L, output_size=1, cell=1 if cell == "gru" else 0,
        proj_size=P, bidirectional=1 if D == 2 else 0)) if t.unit is not None}
    for name, shape in expect.items():
        t = sd.get(lstm + name)
        if t is None:
            if name.startswith("bias") and (lstm + "bias_ih_l0") not in sd:
                continue  # bias=False
            raise ConvertError(f"{lstm}{name} is missing")
        if tuple(t.shape) != shape:
            raise ConvertError(f"{lstm}{name} has shape {tuple(t.shape)}, expected {shape}")
    if f"{lstm}weight_ih_l{L}_reverse" in sd or (D == 2 and any(f"{lstm}weight_ih_l{k}_reverse" not in sd for k in range(L))):
        raise ConvertError(f"{lstm}: the _reverse tensors do not match the forward layers")
    lstm_keys = {lstm + name for name in expect} & set(keys)
    others = [k for k in keys if k not in lstm_keys]

    if head is None:
        cands = [k[:-len("weight")] for k in others if k.endswith("weight") and sd[k].dim() == 2 and sd[k].shape[1] == D * S]
        if not cands:
            raise ConvertError(f"no output head found: expected an nn.Linear({D * S}, V) such as out.weight (V, {D * S})")
        if len(cands) > 1:
            preferred = [c for c in cands if c in ("out.", "head.", "fc.", "decoder.", "linear.", "proj.")]
            if len(preferred) != 1:
                raise ConvertError(f"several candidate heads ({', '.join(c + 'weight' for c in cands)}): choose one with --head")
            cands = preferred
        head = cands[0]
    elif head and not head.endswith("."):
        head += "."
    if f"{head}weight" not in sd:
        raise ConvertError(f"{head}weight is not in the state_dict")
    if sd[f"{head}weight"].dim() != 2 or sd[f"{head}weight"].shape[1] != D * S:
        raise ConvertError(f"{head}weight has shape {tuple(sd[f'{head}weight'].shape)}, expected (V, {D * S})")
    V = sd[f"{head}weight"].shape[0]
    if f"{head}bias" in sd and tuple(sd[f"{head}bias"].shape) != (V,):
        raise ConvertError(f"{head}bias has shape {tuple(sd[f'{head}bias'].shape)}, expected ({V},)")

    if embedding is None:
        cands = [k for k in others if k.endswith("weight") and not k.startswith(head) and sd[k].dim() == 2
                 and sd[k].shape[1] == X]
        if len(cands) > 1:
            raise ConvertError(f"several candidate embeddings ({', '.join(cands)}): choose one with --embedding")
        embedding = cands[0] if cands else "none"
    if embedding != "none":
        if embedding not in sd:
            raise ConvertError(f"{embedding} is not in the state_dict")
        if sd[embedding].dim() != 2 or sd[embedding].shape[1] != X:
            raise ConvertError(f"{embedding} has shape {tuple(sd[embedding].shape)}; the LSTM's input is {X} wide")
    used = lstm_keys | {f"{head}weight", f"{head}bias"} | ({embedding} if embedding != "none" else set())
    ignored = [k for k in keys if k not in used]
    return dict(lstm=lstm, head=head, embedding=embedding, H=H, L=L, X=X, V=V, ignored=ignored,
                cell=cell, P=P, D=D)


def read_vocab(path, extras):
    """Vocabulary from --vocab (a .json list of characters or code points, or a text file
    whose sorted distinct characters are the vocabulary, as Vocabulary.fromText does), or
    from the checkpoint's "vocab" entry."""
    if path:
        if not os.path.exists(path):
            raise ConvertError(f"{path}: no such file", 1)
        with open(path, "r", encoding="utf-8", newline="") as f:
            text = f.read()
        if path.endswith(".json"):
            try:
                items = json.loads(text)
            except ValueError as e:
                raise ConvertError(f"{path}: not JSON: {e}", 1)
        else:
            items = sorted(set(text), key=ord)
    elif extras.get("vocab"):
        items = list(extras["vocab"])
    else:
        return None
    cps = []
    for i, c in enumerate(items):
        if isinstance(c, str) and len(c) == 1:
            cps.append(ord(c))
        elif isinstance(c, int) and 0 <= c <= 0x10FFFF and not 0xD800 <= c <= 0xDFFF:
            cps.append(c)
        else:
            raise ConvertError(f"vocabulary entry {i} ({c!r}) is not one character or a Unicode code point")
    if len(set(cps)) != len(cps):
        raise ConvertError("the vocabulary has a character twice")
    return cps


def to_lstm(sd, vocab=None, input_kind="auto", lstm=None, embedding=None, head=None, metadata=None,
            seed=1, dropout=0.0, init_scale=0.0, forget_bias=0.0, head_type=0, last_step_only=0,
            recurrent_dropout=0.0, orthogonal_init=0):
    """A state_dict (name -> tensor) to model-file bytes. Returns (bytes, layout dict)."""
    import numpy as np

    lay = find_layout(sd, lstm, embedding, head)
    H, L, X, V, lstm, head, emb = lay["H"], lay["L"], lay["X"], lay["V"], lay["lstm"], lay["head"], lay["embedding"]
    D, P = lay["D"], lay["P"]
    f64 = lambda t: t.detach().to("cpu").double().numpy()  # noqa: E731
    sfxs = ("", "_reverse")[:D]
    if emb != "none":
        if input_kind == "dense":
            raise ConvertError("--input dense contradicts the embedding: an embedded model takes tokens")
        table = f64(sd[emb])  # (V_in, E)
        # each direction's (G, E) @ (E, V_in) = (G, V_in)
        w_ih0 = {f"weight_ih_l0{sfx}": f64(sd[f"{lstm}weight_ih_l0{sfx}"]) @ table.T for sfx in sfxs}
        n_in = table.shape[0]
        tokens = True
    else:
        w_ih0 = {f"weight_ih_l0{sfx}": f64(sd[f"{lstm}weight_ih_l0{sfx}"]) for sfx in sfxs}
        n_in = X
        if input_kind == "auto":
            tokens = vocab is not None or X == V
        else:
            tokens = input_kind == "onehot"
    if H > LIMITS["hidden"] or L > LIMITS["layers"] or V > LIMITS["vocab"] or n_in > (LIMITS["vocab"] if tokens else LIMITS["input"]):
        raise ConvertError(f"sizes beyond lstm-wasm's limits: H={H} (max 4096), L={L} (max 16), V={V}, input {n_in}")
    if vocab is not None and tokens and len(vocab) != n_in:
        raise ConvertError(f"the vocabulary has {len(vocab)} entries but the model's input takes {n_in} tokens")
    if vocab is not None and not tokens:
        raise ConvertError("a vocabulary was given for a dense-input model (use --input onehot for token inputs)")
    config = dict(input_vocab=n_in if tokens else 0, input_size=0 if tokens else n_in, hidden_size=H,
                  num_layers=L, output_size=V, seed=seed, dropout=dropout, init_scale=init_scale,
                  forget_bias=forget_bias, head=head_type, last_step_only=last_step_only,
                  cell=1 if lay["cell"] == "gru" else 0, recurrent_dropout=recurrent_dropout,
                  orthogonal_init=orthogonal_init, proj_size=P, bidirectional=1 if D == 2 else 0)
    parts = []
    for t in lstm_layout.tensors(config):  # in the arena's order
        # the table names the head out.* (LstmWasmModel's names); here its prefix is `head`
        key = lstm + t.name if t.unit is not None else head + t.name.split(".", 1)[1]
        if t.name in w_ih0:
            value = w_ih0[t.name]
        elif key not in sd and t.vector:
            value = np.zeros(t.shape)  # bias=False: zero biases
        else:
            value = f64(sd[key])
        assert value.shape == t.shape, (t, value.shape)  # find_layout checked every shape
        parts.append(value.reshape(-1))
    params = np.concatenate(parts).astype(np.float32)
    meta = dict(metadata or {})
    meta.setdefault("converter", "tools/torch_convert.py")
    if emb != "none":
        meta["embedding"] = {"folded": True, "key": emb, "dim": int(X)}
    lay["tokens"] = tokens
    return write_lstm(config, params, vocab or [], meta), lay


def from_lstm(model, embedding="none"):
    """A parsed model file (read_lstm) to (state_dict, checkpoint dict) for LstmWasmModel."""
    cfg = model["config"]
    variants = [what for f, what in NO_TORCH_EQUIVALENT.items() if cfg[f]]
    if variants:
        raise ConvertError(f"this model uses {' and '.join(variants)}, which no PyTorch module computes: "
                           "the converter cannot export it", 2)
    torch = _torch()
    rnn = "gru." if cfg["cell"] == 1 else "lstm."  # LstmWasmModel's names: the unit tensors under gru. or lstm.
    sd = {}
    for t in lstm_layout.tensors(cfg):
        sd[t.name if t.unit is None else rnn + t.name] = \
            torch.from_numpy(model["params"][t.offset:t.offset + t.size].copy()).reshape(t.shape)
    tokens = cfg["input_vocab"] > 0
    n_in = cfg["input_vocab"] or cfg["input_size"]
    emb_dim = None
    if embedding == "identity":
        if not tokens:
            raise ConvertError("--embedding identity needs a token model; this one has dense inputs")
        sd = {"embedding.weight": torch.eye(n_in, dtype=torch.float32), **sd}
        emb_dim = n_in
    elif embedding != "none":
        raise ConvertError(f"--embedding must be none or identity, got {embedding}")
    config = dict(input_size=n_in, hidden_size=cfg["hidden_size"], num_layers=cfg["num_layers"],
                  output_size=cfg["output_size"], token_input=tokens, embedding_dim=emb_dim,
                  cell=CELLS[cfg["cell"]], bidirectional=bool(cfg["bidirectional"]), proj_size=cfg["proj_size"])
    # Only tensors, str, int, bool, None, lists and dicts: torch.load(weights_only=True) of
    # torch 1.13 cannot read floats, so the metadata and the float config fields are JSON text.
    ckpt = {"format": "lstm-wasm", "state_dict": sd, "config": config,
            "vocab": [chr(c) for c in model["vocab"]],
            "head": HEADS[cfg["head"]], "last_step_only": bool(cfg["last_step_only"]),
            "metadata_json": json.dumps(model["metadata"], sort_keys=True),
            "lstm_config_json": json.dumps(cfg, sort_keys=True)}
    return sd, ckpt


def module_from_checkpoint(ckpt):
    """An LstmWasmModel (eval mode) with the checkpoint's weights loaded (strict)."""
    cls = reference_module_class()
    model = cls(**ckpt["config"])
    model.load_state_dict(ckpt["state_dict"], strict=True)
    return model.eval()


# ---------------------------------------------------------------------------
# command line

def _show(path, allow_pickle):
    if path.endswith(".lstm") or _is_lstm_file(path):
        with open(path, "rb") as f:
            m = read_lstm(f.read())
        c = m["config"]
        kind = f"tokens ({c['input_vocab']})" if c["input_vocab"] else f"dense ({c['input_size']})"
        cell = CELLS[c["cell"]] + (", bidirectional" if c["bidirectional"] else "") + \
            (f", proj_size {c['proj_size']}" if c["proj_size"] else "")
        print(f"{path}: lstm-wasm model v{m['version']}, {m['size']} bytes, input {kind}, {cell}, hidden {c['hidden_size']}, "
              f"layers {c['num_layers']}, output {c['output_size']} ({HEADS[c['head']]} head"
              f"{', last step only' if c['last_step_only'] else ''}), {m['params'].size} parameters, "
              f"vocabulary {len(m['vocab'])}, training state {'yes' if m['training_state'] else 'no'}")
        return
    sd, extras, module = load_torch_file(path, allow_pickle)
    check_modules(module)
    for k, v in sd.items():
        print(f"  {k:40s} {tuple(v.shape)} {str(v.dtype).replace('torch.', '')}")
    lay = find_layout(sd)
    kind = lay["cell"].upper() + (" bidirectional" if lay["D"] == 2 else "") + (f" proj_size {lay['P']}" if lay["P"] else "")
    print(f"{path}: {kind} at '{lay['lstm']}' H={lay['H']} L={lay['L']} input {lay['X']}, head '{lay['head']}' V={lay['V']}, "
          f"embedding {lay['embedding']}" + (f", ignored: {', '.join(lay['ignored'])}" if lay["ignored"] else ""))


def _is_lstm_file(path):
    try:
        with open(path, "rb") as f:
            return f.read(8) == MAGIC
    except OSError:
        return False


def _write_atomic(path, data_fn):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        data_fn(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="torch_convert.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("to-lstm", help="PyTorch state_dict (.pt) -> lstm-wasm model (.lstm)")
    a.add_argument("input")
    a.add_argument("-o", "--out", required=True)
    a.add_argument("--vocab", help=".json list of characters/code points, or a text file (its sorted distinct characters)")
    a.add_argument("--input", dest="input_kind", choices=["auto", "onehot", "dense"], default="auto",
                   help="without an embedding: token (one-hot) or dense float input (auto: tokens when a vocabulary is known or input width == output width)")
    a.add_argument("--lstm", help="prefix of the nn.LSTM's keys (default: found)")
    a.add_argument("--embedding", help="key of the nn.Embedding weight, or none (default: found)")
    a.add_argument("--head", help="prefix of the nn.Linear head's keys (default: found)")
    a.add_argument("--loss", choices=["cross-entropy", "mse"],
                   help="what the head's outputs are: softmax logits (cross-entropy, default) or values (mse)")
    a.add_argument("--last-step-only", action="store_true",
                   help="the model is scored at each sequence's last step only (sequence classification/regression)")
    a.add_argument("--seed", type=int, help="seed stored in the model (sampling/dropout); default 1")
    a.add_argument("--dropout", type=float, help="dropout stored for further training in lstm-wasm; default 0")
    a.add_argument("--allow-pickle", action="store_true", help="allow loading a whole pickled module (trusted files only)")
    b = sub.add_parser("from-lstm", help="lstm-wasm model (.lstm) -> PyTorch checkpoint (.pt)")
    b.add_argument("input")
    b.add_argument("-o", "--out", required=True)
    b.add_argument("--embedding", choices=["none", "identity"], default="none",
                   help="none: one-hot input (default); identity: add embedding.weight = I")
    b.add_argument("--state-dict-only", action="store_true", help="save the bare state_dict instead of the checkpoint dict")
    c = sub.add_parser("show", help="describe a .pt or .lstm file")
    c.add_argument("input")
    c.add_argument("--allow-pickle", action="store_true")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "show":
            _show(args.input, args.allow_pickle)
        elif args.cmd == "to-lstm":
            torch = _torch()
            sd, extras, module = load_torch_file(args.input, args.allow_pickle)
            check_modules(module)
            vocab = read_vocab(args.vocab, extras)
            meta = {"source": os.path.basename(args.input), "torch": torch.__version__}
            stored = {}  # a checkpoint written by from-lstm keeps the original metadata and config
            try:
                old_meta = json.loads(extras.get("metadata_json", "null"))
                stored = json.loads(extras.get("lstm_config_json", "{}"))
            except (TypeError, ValueError):
                old_meta = None
            if isinstance(old_meta, dict):
                meta = {**old_meta, **meta}
            input_kind = args.input_kind
            if input_kind == "auto" and isinstance(extras.get("config"), dict) and "token_input" in extras["config"]:
                input_kind = "onehot" if extras["config"]["token_input"] else "dense"
            seed = args.seed if args.seed is not None else int(stored.get("seed", 1))
            dropout = args.dropout if args.dropout is not None else float(stored.get("dropout", 0.0))
            data, lay = to_lstm(sd, vocab, input_kind, args.lstm, args.embedding, args.head, meta,
                                seed, dropout, float(stored.get("init_scale", 0.0)),
                                float(stored.get("forget_bias", 0.0)),
                                {"cross-entropy": 0, "mse": 1}[args.loss] if args.loss else int(stored.get("head", 0)),
                                1 if args.last_step_only else int(stored.get("last_step_only", 0)),
                                float(stored.get("recurrent_dropout", 0.0)), int(stored.get("orthogonal_init", 0)))

            def write(tmp):
                with open(tmp, "wb") as f:
                    f.write(data)
            _write_atomic(args.out, write)
            note = f", embedding {lay['embedding']} folded into weight_ih_l0" if lay["embedding"] != "none" else ""
            ign = f"; ignored keys: {', '.join(lay['ignored'])}" if lay["ignored"] else ""
            kind = lay["cell"].upper() + (" bidirectional" if lay["D"] == 2 else "") + (f" proj_size {lay['P']}" if lay["P"] else "")
            print(f"wrote {args.out}: {kind} H={lay['H']} L={lay['L']} V={lay['V']}{note}, "
                  f"vocabulary {len(vocab) if vocab else 'none'}, {len(data)} bytes{ign}")
            if vocab is None and lay["tokens"]:
                print("note: no vocabulary stored (pass --vocab); lstm-wasm can run it but not generate text", file=sys.stderr)
        else:
            torch = _torch()
            if not os.path.exists(args.input):
                raise ConvertError(f"{args.input}: no such file", 1)
            with open(args.input, "rb") as f:
                model = read_lstm(f.read())
            sd, ckpt = from_lstm(model, args.embedding)
            _write_atomic(args.out, lambda tmp: torch.save(sd if args.state_dict_only else ckpt, tmp))
            cfg = ckpt["config"]
            print(f"wrote {args.out}: LstmWasmModel({cfg['input_size']}, {cfg['hidden_size']}, {cfg['num_layers']}, "
                  f"{cfg['output_size']}, token_input={cfg['token_input']}, embedding_dim={cfg['embedding_dim']}, "
                  f"cell={cfg['cell']!r}, bidirectional={cfg['bidirectional']}, proj_size={cfg['proj_size']}), "
                  f"vocabulary {len(ckpt['vocab'])}")
    except (ConvertError, lstm_layout.LayoutError) as e:
        print(f"torch_convert.py: error: {e}", file=sys.stderr)
        return getattr(e, "status", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
