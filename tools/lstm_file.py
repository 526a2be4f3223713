"""The lstm-wasm model file, read and written in Python (versions 1 to 3: float weights; a
version 4 file holds int8 weights and is refused with a message saying so). The format itself
is described in docs/file-format.md and written by src/serialize.c; the parameter layout comes
from lstm_layout.py. Used by torch_convert.py and the fixture scripts."""

import io
import json
import struct
import zlib

import lstm_layout

MAGIC = b"LSTMWASM"
# The newest version read (version 3 differs only inside the training state, which is skipped);
# files are written as version 1 when they can be, else 2.
FORMAT_VERSION = 3
CONFIG_FIELDS = ["input_vocab", "input_size", "hidden_size", "num_layers", "output_size",
                 "seed", "dropout", "init_scale", "forget_bias",  # version 1: these 9 words
                 "head", "last_step_only", "cell", "recurrent_dropout",  # version 2 adds these
                 "orthogonal_init", "peephole", "cifg", "activation", "proj_size", "layer_norm",
                 "bidirectional", "recurrent_activation", "gru_reset_before"]
FLOAT_FIELDS = {"dropout", "init_scale", "forget_bias", "recurrent_dropout"}
HEADS = {0: "softmax", 1: "mse"}
CELLS = {0: "lstm", 1: "gru"}
FLAG_TRAINING_STATE = 1
FLAG_INT8 = 2  # version 4: int8 weight rows (src/quantize.c)
LIMITS = dict(hidden=4096, layers=16, vocab=1 << 20, input=65536)


class ConvertError(Exception):
    """A problem with the input; `status` is the exit code (1 damaged input, 2 unsupported)."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


def write_lstm(config, params, vocab=(), metadata=None):
    """Bytes of a version-1 model file without training state (flags 0).

    config: dict input_vocab, input_size, hidden_size, num_layers, output_size and optional
    seed, dropout, init_scale, forget_bias and the version 2 fields (head 0 softmax / 1 mse,
    last_step_only, cell 0 LSTM / 1 GRU, proj_size, bidirectional, ...). Written as format
    version 1 unless a version 2 field is set (then a word count and every field).
    params: flat float32 values in arena order.
    vocab: code points (ints) or one-character strings. metadata: JSON-serialisable or None.
    """
    import numpy as np

    params = np.ascontiguousarray(np.asarray(params, dtype="<f4").reshape(-1))
    if not np.all(np.isfinite(params)):
        raise ConvertError("a parameter is NaN or infinite; lstm-wasm refuses such models")
    expected = lstm_layout.parameter_count(config)
    if params.size != expected:
        raise ConvertError(f"{params.size} parameters given, the config needs {expected}")
    cps = [c if isinstance(c, int) else ord(c) for c in vocab]
    meta = b"" if metadata is None else json.dumps(metadata, sort_keys=True).encode("utf-8")
    v2 = any(config.get(f, 0) for f in CONFIG_FIELDS[9:])
    body = io.BytesIO()
    body.write(MAGIC)
    body.write(struct.pack("<IIQ", 2 if v2 else 1, 0, 0))  # total size patched below
    fields = CONFIG_FIELDS if v2 else CONFIG_FIELDS[:9]
    if v2:
        body.write(struct.pack("<I", len(fields)))
    values = dict(config, seed=config.get("seed", 1) & 0xFFFFFFFF,
                  input_size=config.get("input_size", 0) if config["input_vocab"] == 0 else 0)
    for f in fields:
        code = "f" if f in FLOAT_FIELDS else "I" if f == "seed" else "i"
        body.write(struct.pack("<" + code, (float if code == "f" else int)(values.get(f, 0))))
    body.write(struct.pack("<I", len(cps)))
    body.write(struct.pack(f"<{len(cps)}I", *cps))
    body.write(struct.pack("<I", len(meta)))
    body.write(meta + b"\0" * ((4 - len(meta) % 4) % 4))
    body.write(struct.pack("<Q", params.size))
    body.write(params.tobytes())
    data = bytearray(body.getvalue())
    struct.pack_into("<Q", data, 16, len(data) + 4)
    data += struct.pack("<I", zlib.crc32(bytes(data)) & 0xFFFFFFFF)
    return bytes(data)


def read_lstm(data):
    """Parse a model file (bytes). Returns dict config, vocab (code points), metadata (parsed
    JSON or None), params (float32 numpy array), training_state (bool), version, size.
    The training state, when present, is checked for size and skipped."""
    import numpy as np

    if len(data) < 8 or data[:8] != MAGIC:
        raise ConvertError('not an lstm-wasm model: the first 8 bytes are not "LSTMWASM"', 1)
    if len(data) < 28:
        raise ConvertError(f"truncated: {len(data)} bytes", 1)
    version, flags, total = struct.unpack_from("<IIQ", data, 8)
    if version == 4 and flags & FLAG_INT8:
        raise ConvertError("an int8 (quantised) file: its float weights are gone; use the float file it "
                           "was made from", 2)
    if not 1 <= version <= FORMAT_VERSION:
        raise ConvertError(f"format version {version} is not supported (this converter reads {FORMAT_VERSION})", 1)
    if total != len(data):
        raise ConvertError(f"the header says {total} bytes but the file has {len(data)} (truncated or padded)", 1)
    (stored_crc,) = struct.unpack_from("<I", data, len(data) - 4)
    if zlib.crc32(data[:-4]) & 0xFFFFFFFF != stored_crc:
        raise ConvertError("checksum mismatch: the file was changed or damaged", 1)
    if flags & ~FLAG_TRAINING_STATE:
        raise ConvertError(f"unknown flags 0x{flags:x}", 1)
    at = 24
    end = len(data) - 4
    n_words = 9
    if version >= 2:
        (n_words,) = struct.unpack_from("<I", data, at)
        at += 4
        if not 9 <= n_words <= 256:
            raise ConvertError(f"config word count {n_words} is outside [9, 256]", 1)
    if at + 4 * n_words > end:
        raise ConvertError("truncated while reading the config", 1)
    raw = struct.unpack_from(f"<{n_words}I", data, at)
    at += 4 * n_words
    if any(raw[len(CONFIG_FIELDS):]):
        raise ConvertError("the model uses a config field newer than this converter", 1)
    config = {}
    for i, f in enumerate(CONFIG_FIELDS):
        word = struct.pack("<I", raw[i] if i < n_words else 0)
        config[f] = struct.unpack("<f" if f in FLOAT_FIELDS else "<I" if f == "seed" else "<i", word)[0]
    if config["head"] not in HEADS or config["last_step_only"] not in (0, 1):
        raise ConvertError(f"unknown head {config['head']} / last_step_only {config['last_step_only']}", 1)
    if config["cell"] not in CELLS:
        raise ConvertError(f"unknown cell type {config['cell']}", 1)
    if config["bidirectional"] not in (0, 1) or not 0 <= config["proj_size"] < config["hidden_size"] or \
            (config["proj_size"] and config["cell"] == 1):
        raise ConvertError(f"impossible bidirectional {config['bidirectional']} / proj_size {config['proj_size']}", 1)

    def need(n, what):
        if at + n > end:
            raise ConvertError(f"truncated while reading {what}", 1)

    need(4, "the vocabulary size")
    (nv,) = struct.unpack_from("<I", data, at)
    at += 4
    need(4 * nv, "the vocabulary")
    vocab = list(struct.unpack_from(f"<{nv}I", data, at))
    at += 4 * nv
    need(4, "the metadata size")
    (nm,) = struct.unpack_from("<I", data, at)
    at += 4
    need(nm, "the metadata")
    meta_bytes = bytes(data[at:at + nm])
    at += nm + (4 - nm % 4) % 4
    need(8, "the parameter count")
    (npar,) = struct.unpack_from("<Q", data, at)
    at += 8
    if npar != lstm_layout.parameter_count(config):
        raise ConvertError(f"parameter count {npar} does not match the config ({lstm_layout.parameter_count(config)})", 1)
    need(4 * npar, "the parameters")
    params = np.frombuffer(data, dtype="<f4", count=npar, offset=at).astype(np.float32)
    at += 4 * npar
    if not (flags & FLAG_TRAINING_STATE) and at != end:
        raise ConvertError(f"{end - at} unexpected bytes before the checksum", 1)
    try:
        metadata = json.loads(meta_bytes.decode("utf-8")) if nm else None
    except ValueError:
        metadata = meta_bytes.decode("utf-8", "replace")
    return dict(config=config, vocab=vocab, metadata=metadata, params=params,
                training_state=bool(flags & FLAG_TRAINING_STATE), version=version, size=len(data))
