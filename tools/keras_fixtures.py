#!/usr/bin/env python3
"""Write the Keras fixtures of tests/keras.test.mjs: .h5 (Keras 2) and .keras (Keras 3) files
holding models of tests/fixtures/tfjs_fixtures.json, written with h5py in Keras's own layouts.

    /usr/bin/python3 tools/keras_fixtures.py     (tools/make_tfjs_fixtures.mjs runs it)

These files were written by this script, not by Keras (no TensorFlow or Keras is installed
here): each follows the layout of the Keras sources that save such files, which
tools/keras_to_tfjs.py's docstring describes (legacy_h5_format's model_config and
model_weights/<layer>/<weight name>:0 datasets; saving_lib's config.json, metadata.json and
model.weights.h5 with layers/<snake_case class>[_n]/.../vars/<i>). The configs use the keys
Keras 2.15 and Keras 3.3 write for these layers (initialisers left at their defaults). Each
file's weights are those of the TF.js fixture it comes from, so its outputs are that
fixture's. Needs h5py and numpy (Debian's python3-h5py, /usr/bin/python3).
"""

import json
import os
import sys
import zipfile

import h5py
import numpy as np

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
sys.path.insert(0, os.path.join(ROOT, "tools"))
from keras_to_tfjs import ROLES, snake_case  # noqa: E402  (one table of weight roles)

# (file, TF.js fixture, Keras version, what the test expects: None = the fixture's outputs,
# else a part of the refusal message)
CASES = [
    ("keras_v2_lstm_hard_2layer_td.h5", "lstm_hard_2layer_td", "2.15.0", None),
    ("keras_v2_bilstm_embedding_last.h5", "bilstm_embedding_last", "2.15.0", None),
    ("keras_v2_gru_reset_after.h5", "gru_reset_after_keras", "2.15.0", None),
    ("keras_v3_bilstm_embedding_last.keras", "bilstm_embedding_last", "3.3.3", None),
    ("keras_v3_gru_embedding_2layer.keras", "gru_embedding_2layer", "3.3.3", None),
    ("keras_v3_bigru_reset_after.keras", "bigru_reset_after_embedding_keras", "3.3.3", None),
    ("keras_v3_lstm_nobias_functional.keras", "lstm_nobias_functional", "3.3.3", None),
    ("keras_v3_gru_hard_sigmoid.keras", "gru_dense_last_hard", "3.3.3", "Keras 3 defines hard_sigmoid as relu6(x + 3) / 6"),
    ("keras_v3_legacy_lstm_hard_sigmoid.h5", "lstm_hard_2layer_td", "3.3.3", "Keras 3 defines hard_sigmoid as relu6(x + 3) / 6"),
]
INITIALISERS = {  # Keras's defaults, as Keras 3 serialises them
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": None}, "registered_name": None},
    "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}, "registered_name": None},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None},
}
POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}


def load_tfjs(name):
    """The TF.js fixture as [{cls, cfg (snake_case), weights [arrays in Keras order]}]."""
    with open(os.path.join(FIXTURES, f"tfjs_{name}.json")) as f:
        model = json.load(f)
    topo = model["modelTopology"]
    topo = topo.get("model_config", topo)
    specs = [w for g in model["weightsManifest"] for w in g["weights"]]
    raw = np.fromfile(os.path.join(FIXTURES, f"tfjs_{name}.weights.bin"), dtype="<f4")
    values, at = {}, 0
    for s in specs:
        n = int(np.prod(s["shape"]))
        values[s["name"]] = raw[at:at + n].reshape(s["shape"])
        at += n
    layers = []
    for l in topo["config"]["layers"]:
        cls, cfg = l["class_name"], l["config"]
        lname = cfg.get("name", l.get("name"))
        mine = [(k[len(lname) + 1:].split("/"), v) for k, v in values.items() if k.startswith(lname + "/")]

        def ordered(items, roles):
            by = {p[-1]: v for p, v in items}
            return [by[r] for r in roles if r in by]
        if cls == "Bidirectional":
            roles = ROLES[cfg["layer"]["class_name"]]
            weights = ordered([x for x in mine if x[0][0].startswith("forward")], roles) + \
                ordered([x for x in mine if x[0][0].startswith("backward")], roles)
        elif cls == "TimeDistributed":
            weights = ordered(mine, ROLES["Dense"])
        else:
            weights = ordered(mine, ROLES.get(cls, []))
        layers.append({"cls": cls, "cfg": cfg, "weights": weights, "functional": topo["class_name"] != "Sequential"})
    return layers


class Names:
    """Keras's default layer names: a counter per snake_case class (lstm, lstm_1, ...)."""

    def __init__(self):
        self.seen = {}

    def __call__(self, cls):
        key = snake_case(cls)
        n = self.seen.get(key, -1) + 1
        self.seen[key] = n
        return key if n == 0 else f"{key}_{n}"


def rnn_keys(cfg):
    """The options of an LSTM/GRU config that carry meaning, from the TF.js fixture."""
    keys = ["units", "activation", "recurrent_activation", "use_bias", "return_sequences", "dropout", "recurrent_dropout"]
    out = {k: cfg[k] for k in keys if k in cfg}
    out["recurrent_activation"] = out.get("recurrent_activation", "hard_sigmoid")
    out["dropout"] = float(out.get("dropout") or 0)
    out["recurrent_dropout"] = float(out.get("recurrent_dropout") or 0)
    return out


def first_shape(layers):
    for l in layers:
        shape = l["cfg"].get("batch_input_shape")
        if shape:
            return shape
    raise ValueError("no input shape")


# ---------------------------------------------------------------------------
# Keras 2 .h5 (legacy_h5_format)

def keras2_layers(layers):
    """(model_config, [(layer name, [(weight name, array)])]) in tf.keras 2.15's form."""
    names, cells = Names(), Names()
    config_layers = [{"class_name": "InputLayer", "config": {"batch_input_shape": first_shape(layers), "dtype": "float32",
                                                             "sparse": False, "ragged": False, "name": "input_1"}}]
    weights = []
    for l in layers:
        cls, cfg = l["cls"], l["cfg"]
        if cls == "InputLayer":
            continue
        name = names(cls)
        base = {"name": name, "trainable": True, "dtype": "float32"}
        if cls in ("LSTM", "GRU"):
            c = {**base, "return_state": False, "go_backwards": False, "stateful": False, "unroll": False,
                 "time_major": False, **rnn_keys(cfg), "implementation": 2}
            if cls == "LSTM":
                c["unit_forget_bias"] = True
            else:
                c["reset_after"] = bool(cfg.get("reset_after", False))
            cell = cells(f"{cls}Cell")
            wn = [f"{name}/{cell}/{r}:0" for r in ROLES[cls][:len(l["weights"])]]
        elif cls == "Bidirectional":
            inner_cls = cfg["layer"]["class_name"]
            inner = names(inner_cls)
            ic = {"name": inner, "trainable": True, "dtype": "float32", "return_state": False, "go_backwards": False,
                  "stateful": False, "unroll": False, "time_major": False, **rnn_keys(cfg["layer"]["config"]), "implementation": 2}
            if inner_cls == "GRU":
                ic["reset_after"] = bool(cfg["layer"]["config"].get("reset_after", False))
            c = {**base, "layer": {"class_name": inner_cls, "config": ic}, "merge_mode": "concat"}
            cells(f"{inner_cls}Cell")  # the wrapped layer's own cell, then the two copies'
            half = len(l["weights"]) // 2
            fc, bc = cells(f"{inner_cls}Cell"), cells(f"{inner_cls}Cell")
            wn = [f"{name}/forward_{inner}/{fc}/{r}:0" for r in ROLES[inner_cls][:half]] + \
                 [f"{name}/backward_{inner}/{bc}/{r}:0" for r in ROLES[inner_cls][:half]]
        elif cls == "Embedding":
            c = {**base, "input_dim": cfg["input_dim"], "output_dim": cfg["output_dim"], "embeddings_initializer": None,
                 "mask_zero": False, "input_length": None}
            wn = [f"{name}/embeddings:0"]
        elif cls in ("Dense", "TimeDistributed"):
            d = cfg["layer"]["config"] if cls == "TimeDistributed" else cfg
            dc = {"name": names("Dense") if cls == "TimeDistributed" else name, "trainable": True, "dtype": "float32",
                  "units": d["units"], "activation": d.get("activation") or "linear", "use_bias": d.get("use_bias", True)}
            c = {**base, "layer": {"class_name": "Dense", "config": dc}} if cls == "TimeDistributed" else dc
            wn = [f"{name}/{r}:0" for r in ROLES["Dense"][:len(l["weights"])]]
        elif cls == "Dropout":
            c = {**base, "rate": cfg["rate"], "noise_shape": None, "seed": None}
            wn = []
        elif cls == "Activation":
            c = {**base, "activation": cfg["activation"]}
            wn = []
        else:
            raise ValueError(f"no Keras 2 form for {cls}")
        config_layers.append({"class_name": cls, "config": c})
        weights.append((name, list(zip(wn, l["weights"]))))
    return {"class_name": "Sequential", "config": {"name": "sequential", "layers": config_layers}}, weights


def write_h5(path, layers, version):
    config, weights = keras2_layers(layers)
    with h5py.File(path, "w", track_order=False) as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = version.encode("utf8")
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
        mw = f.create_group("model_weights")
        mw.attrs["layer_names"] = [n.encode("utf8") for n, _ in weights]
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = version.encode("utf8")
        for name, ws in sorted(weights, key=lambda x: x[0]):  # Keras writes the groups sorted by name
            g = mw.create_group(name)
            g.attrs["weight_names"] = [w.encode("utf8") for w, _ in ws] if ws else np.asarray([])
            for w, v in ws:
                g.create_dataset(w, data=np.asarray(v, dtype="<f4"))
        mw.create_group("top_level_model_weights").attrs["weight_names"] = np.asarray([])


# ---------------------------------------------------------------------------
# Keras 3 .keras (saving_lib)

def k3(cls, config, module="keras.layers", **extra):
    return {"module": module, "class_name": cls, "config": config, "registered_name": None, **extra}


def keras3_rnn(cls, cfg, name, go_backwards=False):
    c = {"name": name, "trainable": True, "dtype": POLICY, "return_sequences": cfg["return_sequences"],
         "return_state": False, "go_backwards": go_backwards, "stateful": False, "unroll": False,
         "zero_output_for_mask": cfg["return_sequences"], **rnn_keys(cfg), **INITIALISERS,
         "kernel_regularizer": None, "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
         "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None, "seed": None}
    if cls == "LSTM":
        c["unit_forget_bias"] = True
    else:
        c["reset_after"] = bool(cfg.get("reset_after", False))
    return k3(cls, c)


def keras3_model(layers):
    """(config.json object, {h5 path: array}) in Keras 3.3's form."""
    names, paths = Names(), Names()
    functional = layers[0]["functional"]
    shape = first_shape(layers)
    entries = [k3("InputLayer", {"batch_shape": shape, "dtype": "float32", "sparse": False, "name": "input_layer"})]
    datasets = {"vars": None}  # the model's own (empty) variables
    if functional:  # a Functional model's layers include its InputLayer
        datasets["layers/input_layer/vars"] = None
    for l in layers:
        cls, cfg = l["cls"], l["cfg"]
        if cls == "InputLayer":
            continue
        name = names(cls)
        base = f"layers/{paths(cls)}"
        datasets[f"{base}/vars"] = None
        ws = l["weights"]
        if cls in ("LSTM", "GRU"):
            entry = keras3_rnn(cls, cfg, name)
            datasets[f"{base}/cell/seed_generator/vars/0"] = np.array([0, 0], dtype=np.uint32)
            datasets.update({f"{base}/cell/vars/{i}": w for i, w in enumerate(ws)})
        elif cls == "Bidirectional":
            ic, icfg = cfg["layer"]["class_name"], cfg["layer"]["config"]
            inner = names(ic)
            entry = k3(cls, {"name": name, "trainable": True, "dtype": POLICY, "merge_mode": "concat",
                             "layer": keras3_rnn(ic, icfg, f"forward_{inner}"),
                             "backward_layer": keras3_rnn(ic, icfg, f"backward_{inner}", go_backwards=True)})
            half = len(ws) // 2
            for d, part in (("forward_layer", ws[:half]), ("backward_layer", ws[half:])):
                datasets[f"{base}/{d}/vars"] = None
                datasets[f"{base}/{d}/cell/seed_generator/vars/0"] = np.array([0, 0], dtype=np.uint32)
                datasets.update({f"{base}/{d}/cell/vars/{i}": w for i, w in enumerate(part)})
        elif cls == "Embedding":
            entry = k3(cls, {"name": name, "trainable": True, "dtype": POLICY, "input_dim": cfg["input_dim"],
                             "output_dim": cfg["output_dim"], "embeddings_initializer": None, "embeddings_regularizer": None,
                             "activity_regularizer": None, "embeddings_constraint": None, "mask_zero": False})
            datasets[f"{base}/vars/0"] = ws[0]
        elif cls in ("Dense", "TimeDistributed"):
            d = cfg["layer"]["config"] if cls == "TimeDistributed" else cfg
            dense = k3("Dense", {"name": names("Dense") if cls == "TimeDistributed" else name, "trainable": True, "dtype": POLICY,
                                 "units": d["units"], "activation": d.get("activation") or "linear", "use_bias": d.get("use_bias", True),
                                 "kernel_initializer": INITIALISERS["kernel_initializer"], "bias_initializer": INITIALISERS["bias_initializer"],
                                 "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None})
            if cls == "TimeDistributed":
                entry = k3(cls, {"name": name, "trainable": True, "dtype": POLICY, "layer": dense})
                datasets[f"{base}/layer/vars"] = None
                datasets.update({f"{base}/layer/vars/{i}": w for i, w in enumerate(ws)})
            else:
                entry = dense
                datasets.update({f"{base}/vars/{i}": w for i, w in enumerate(ws)})
        elif cls == "Dropout":
            entry = k3(cls, {"name": name, "trainable": True, "dtype": POLICY, "rate": cfg["rate"], "seed": None, "noise_shape": None})
            datasets[f"{base}/seed_generator/vars/0"] = np.array([0, 0], dtype=np.uint32)
        else:
            raise ValueError(f"no Keras 3 form for {cls}")
        entries.append(entry)
    if not functional:
        config = k3("Sequential", {"name": "sequential", "trainable": True, "dtype": POLICY, "layers": entries},
                    module="keras", build_config={"input_shape": shape}, compile_config=None)
        return config, datasets
    # Functional: each layer names its caller in a node {args: [KerasTensor], kwargs}
    prev = None
    for e in entries:
        e["name"] = e["config"]["name"]
        e["inbound_nodes"] = [] if prev is None else [{
            "args": [{"class_name": "__keras_tensor__", "config": {"shape": shape, "dtype": "float32", "keras_history": [prev, 0, 0]}}],
            "kwargs": {"training": False, "mask": None} if e["class_name"] in ("LSTM", "GRU") else {}}]
        prev = e["name"]
    config = k3("Functional", {"name": "functional", "trainable": True, "layers": entries,
                               "input_layers": ["input_layer", 0, 0], "output_layers": [prev, 0, 0]},
                module="keras.src.models.functional", build_config={"input_shape": None}, compile_config=None)
    config["registered_name"] = "Functional"
    return config, datasets


def write_keras(path, layers, version):
    config, datasets = keras3_model(layers)
    buf = os.path.join(FIXTURES, ".model.weights.h5.tmp")
    with h5py.File(buf, "w") as f:
        for p, v in datasets.items():
            if v is None:
                f.require_group(p)
            else:
                f.create_dataset(p, data=v)
    with open(buf, "rb") as fh:
        weights = fh.read()
    os.unlink(buf)
    stamp = (2024, 1, 1, 0, 0, 0)  # fixed, so the file is the same on every run
    with zipfile.ZipFile(path, "w") as z:
        for name, data in (("metadata.json", json.dumps({"keras_version": version, "date_saved": "2024-01-01@00:00:00"})),
                           ("config.json", json.dumps(config)), ("model.weights.h5", weights)):
            z.writestr(zipfile.ZipInfo(name, stamp), data)


def main():
    index = {"about": "Keras files for tests/keras.test.mjs, written by tools/keras_fixtures.py with h5py in Keras's "
                      "layouts (not by Keras); each holds the weights of the TF.js fixture `source` "
                      "(tests/fixtures/tfjs_fixtures.json has its inputs and outputs); `refused`: a part of "
                      "the message tools/keras_to_tfjs.py refuses it with",
             "cases": []}
    for file, source, version, refused in CASES:
        layers = load_tfjs(source)
        path = os.path.join(FIXTURES, file)
        (write_h5 if file.endswith(".h5") else write_keras)(path, layers, version)
        index["cases"].append({"file": file, "source": source, "kerasVersion": version, "refused": refused})
        print(f"{file}: {source}, Keras {version}{', refused' if refused else ''}")
    with open(os.path.join(FIXTURES, "keras_fixtures.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
