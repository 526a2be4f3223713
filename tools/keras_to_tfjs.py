#!/usr/bin/env python3
"""Convert a Keras model file to the TensorFlow.js layers format (model.json + weights.bin),
which lstm-wasm reads with Model.fromTfjs or `lstm-wasm import-tfjs`.

    /usr/bin/python3 tools/keras_to_tfjs.py model.h5 --out model_dir/      # Keras 2 (tf.keras) .h5
    /usr/bin/python3 tools/keras_to_tfjs.py model.keras --out model_dir/   # Keras 3 .keras
    lstm-wasm import-tfjs model_dir/model.json --out model.lstm

Needs h5py and numpy only (Debian: apt-get install python3-h5py, run with /usr/bin/python3), no
TensorFlow or Keras. It moves containers, as tensorflowjs_converter --input_format keras does:
the model config and the weights, each weight named layer/kernel, layer/recurrent_kernel,
layer/bias, layer/embeddings (a Bidirectional's layer/forward_X/... and layer/backward_X/...).
Which layers and options lstm-wasm can represent is decided in one place, the importer
(src/js/tfjs_import.js), not here. One exception is checked here as well, because it depends
on the Keras version that wrote the file: Keras 3 defines hard_sigmoid as relu6(x + 3) / 6
(slope 1/6), Keras 2 and TF.js as clip(0.2x + 0.5, 0, 1), so a Keras 3 model with a
hard_sigmoid recurrent activation is refused instead of converted into other numbers.

Where the weights are, per the Keras sources:
  .h5 (keras.src.legacy.saving.legacy_h5_format / tf.keras hdf5_format): root attributes
      keras_version, backend and model_config (JSON); group model_weights with attribute
      layer_names, a group per layer with attribute weight_names (in the layer's weight order,
      e.g. lstm/lstm_cell/kernel:0), each name a dataset path inside the layer's group.
  .keras (keras.src.saving.saving_lib): a zip of metadata.json (keras_version), config.json
      (the model serialised with module/class_name/config/registered_name) and model.weights.h5,
      where a Sequential or Functional model's layers are layers/<snake_case class>[_<n>] (a
      counter per class, in layer order), a layer's own variables vars/0, vars/1, ... and those
      of its sub-objects under their attribute names: an RNN's cell/vars/..., a Bidirectional's
      forward_layer/cell/vars/... and backward_layer/cell/vars/..., a TimeDistributed's
      layer/vars/....

Exit status: 0 done, 1 unreadable input, 2 a file this script cannot convert.
"""

import argparse
import io
import json
import os
import re
import sys
import zipfile

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover - said to the user
    sys.stderr.write(f"keras_to_tfjs.py: {e.name} is missing: apt-get install python3-h5py and run /usr/bin/python3\n")
    sys.exit(1)


class ConvertError(Exception):
    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


# what each layer class holds, in Keras's weight order
ROLES = {"Embedding": ["embeddings"], "LSTM": ["kernel", "recurrent_kernel", "bias"],
         "GRU": ["kernel", "recurrent_kernel", "bias"], "Dense": ["kernel", "bias"]}
RECURRENT = ("LSTM", "GRU")


def snake_case(name):
    """keras.src.utils.naming.to_snake_case: the .keras weight paths name layers by class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def keras_major(version):
    m = re.match(r"(\d+)\.", str(version))
    return int(m.group(1)) if m else None


def layers_of(config):
    """The layer configs of a Sequential or Functional model config ({class_name, config})."""
    inner = config.get("config")
    if isinstance(inner, list):  # Keras < 2.2.3 Sequential
        return inner
    if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
        return inner["layers"]
    raise ConvertError(f"the model config ({config.get('class_name')}) has no list of layers")


def check_hard_sigmoid(config, version):
    """Keras 3's hard_sigmoid is not Keras 2's: refuse it (see the module docstring)."""
    if keras_major(version) is None or keras_major(version) < 3:
        return

    def walk(layer):
        cfg = layer.get("config", {})
        for key in ("recurrent_activation", "activation"):
            if cfg.get(key) == "hard_sigmoid":
                raise ConvertError(
                    f"layer {cfg.get('name')!r} ({layer.get('class_name')}): {key} hard_sigmoid in a Keras {version} model. "
                    "Keras 3 defines hard_sigmoid as relu6(x + 3) / 6 (slope 1/6); lstm-wasm's hardSigmoid is Keras 2's and "
                    "TF.js's clip(0.2x + 0.5, 0, 1). Refused rather than converted into a model with other numbers.")
        for key in ("layer", "backward_layer"):
            if isinstance(cfg.get(key), dict):
                walk(cfg[key])

    for layer in layers_of(config):
        walk(layer)


# ---------------------------------------------------------------------------
# Keras 3 config.json -> the Keras 2 / TF.js form of the topology

def keras3_to_keras2(obj):
    """Drop Keras 3's serialisation wrappers (module, registered_name, build_config,
    compile_config), a DTypePolicy becomes its name, InputLayer's batch_shape its
    batch_input_shape, and functional nodes {args, kwargs} the [[name, node, tensor, kwargs]]
    form."""
    if isinstance(obj, list):
        return [keras3_to_keras2(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if obj.get("class_name") in ("DTypePolicy", "FloatDTypePolicy", "Policy") and isinstance(obj.get("config"), dict):
        return obj["config"].get("name")
    out = {}
    for key, value in obj.items():
        if key in ("module", "registered_name", "build_config", "compile_config", "shared_object_id"):
            continue
        if key == "inbound_nodes":
            out[key] = [keras3_node(n) for n in value]
        elif key in ("input_layers", "output_layers") and value and isinstance(value[0], str):
            out[key] = [value]  # one input or output is written without the outer list
        else:
            out[key] = keras3_to_keras2(value)
    if out.get("class_name") == "InputLayer" and "batch_shape" in out.get("config", {}):
        cfg = dict(out["config"])
        cfg["batch_input_shape"] = cfg.pop("batch_shape")
        out["config"] = cfg
    return out


def keras3_node(node):
    if not isinstance(node, dict):
        return node
    tensors = [a for a in node.get("args", []) if isinstance(a, dict) and a.get("class_name") == "__keras_tensor__"]
    if len(tensors) != 1 or len(node.get("args", [])) != 1:
        raise ConvertError("a functional layer with several inputs: only a chain of layers can be read")
    name, node_index, tensor_index = tensors[0]["config"]["keras_history"]
    return [[name, node_index, tensor_index, keras3_to_keras2(node.get("kwargs", {}))]]


# ---------------------------------------------------------------------------
# weights

def tfjs_name(layer, role, direction=None):
    """The weight's name in model.json, as TF.js names it (see the module docstring)."""
    cfg = layer["config"]
    if direction:
        inner = cfg["layer"]["config"].get("name", "rnn")
        inner = inner[len("forward_"):] if inner.startswith("forward_") else inner
        return f"{cfg['name']}/{direction}_{inner}/{role}"
    return f"{cfg['name']}/{role}"


def roles_for(layer, count):
    """The roles of a layer's `count` weights in Keras's order, or None for a class this
    script does not name (the importer refuses such layers)."""
    cls = layer["class_name"]
    cfg = layer.get("config", {})
    if cls == "TimeDistributed":
        cls = cfg.get("layer", {}).get("class_name")
    if cls == "Bidirectional":
        inner = cfg.get("layer", {}).get("class_name")
        if inner not in RECURRENT or count % 2:
            return None
        half = ROLES[inner][:count // 2]
        return [(r, "forward") for r in half] + [(r, "backward") for r in half]
    if cls not in ROLES or count > len(ROLES[cls]):
        return None
    return [(r, None) for r in ROLES[cls][:count]]


def float32(array, where):
    a = np.asarray(array)
    if a.dtype != np.float32:
        raise ConvertError(f"weight {where} is {a.dtype}: only float32 weights are converted (a float16 or bfloat16 model is not)")
    return np.ascontiguousarray(a, dtype="<f4")


def h5_attr_list(group, name):
    """legacy_h5_format.load_attributes_from_hdf5_group: a list attribute, maybe in chunks."""
    if name in group.attrs:
        items = list(group.attrs[name])
    else:
        items, k = [], 0
        while f"{name}{k}" in group.attrs:
            items.extend(group.attrs[f"{name}{k}"])
            k += 1
    return [n.decode("utf8") if hasattr(n, "decode") else str(n) for n in items]


def read_h5(path):
    """(model config, keras_version, [(name, array)]) of a Keras .h5 model file."""
    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise ConvertError(f"{path} has no model_config: a weights-only file (save_weights) has no model to convert")
        raw = f.attrs["model_config"]
        config = json.loads(raw.decode("utf8") if hasattr(raw, "decode") else raw)
        version = f.attrs.get("keras_version", b"")
        version = version.decode("utf8") if hasattr(version, "decode") else str(version)
        check_hard_sigmoid(config, version)
        by_name = {l.get("config", {}).get("name", l.get("name")): l for l in layers_of(config)}
        weights_group = f["model_weights"] if "model_weights" in f else f
        weights = []
        for layer_name in h5_attr_list(weights_group, "layer_names"):
            g = weights_group[layer_name]
            names = h5_attr_list(g, "weight_names")
            if not names:
                continue
            layer = by_name.get(layer_name)
            if layer is None:
                raise ConvertError(f"weights for layer {layer_name!r}, which the model config does not have", 1)
            roles = roles_for(layer, len(names))
            for k, name in enumerate(names):
                value = float32(g[name], f"{layer_name}/{name}")
                if roles is None:  # named as it is; the importer refuses the layer first
                    weights.append((f"{layer_name}/{name.split('/')[-1].split(':')[0]}", value))
                else:
                    role, direction = roles[k]
                    weights.append((tfjs_name(layer, role, direction), value))
    return config, version, weights


def read_keras(path):
    """(model config in the Keras 2 form, keras_version, [(name, array)]) of a .keras file."""
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        if "config.json" not in names or "model.weights.h5" not in names:
            raise ConvertError(f"{path}: a .keras file holds config.json and model.weights.h5; this one has {', '.join(names)}", 1)
        config = json.loads(z.read("config.json"))
        meta = json.loads(z.read("metadata.json")) if "metadata.json" in names else {}
        weights_bytes = z.read("model.weights.h5")
    version = str(meta.get("keras_version", "3"))
    config = keras3_to_keras2(config)
    check_hard_sigmoid(config, version)
    weights = []
    counters = {}
    with h5py.File(io.BytesIO(weights_bytes), "r") as f:
        for layer in layers_of(config):
            cls = layer["class_name"]
            key = snake_case(cls)
            n = counters.get(key)
            counters[key] = 0 if n is None else n + 1
            base = f"layers/{key}" + ("" if n is None else f"_{n + 1}")
            if cls == "Bidirectional":
                parts = [(f"{base}/forward_layer/cell/vars", "forward"), (f"{base}/backward_layer/cell/vars", "backward")]
            elif cls in RECURRENT:
                parts = [(f"{base}/cell/vars", None)]
            elif cls == "TimeDistributed":
                parts = [(f"{base}/layer/vars", None)]
            else:
                parts = [(f"{base}/vars", None)]
            found = []
            for where, direction in parts:
                if where in f:
                    found += [(f"{where}/{i}", f[where][str(i)], direction) for i in range(len(f[where]))]
            if not found:
                continue
            roles = roles_for(layer, len(found))
            for k, (where, data, direction) in enumerate(found):
                value = float32(data, where)
                if roles is None:
                    weights.append((f"{layer['config']['name']}/{where[len(base) + 1:]}", value))
                else:
                    weights.append((tfjs_name(layer, roles[k][0], roles[k][1]), value))
    return config, version, weights


def write_tfjs(out_dir, config, version, weights, source):
    os.makedirs(out_dir, exist_ok=True)
    data = b"".join(v.tobytes() for _, v in weights)
    # the form tensorflowjs_converter writes for a Keras file: Keras's attributes around the config
    model_json = {
        "format": "layers-model",
        "generatedBy": f"keras v{version}",
        "convertedBy": f"lstm-wasm tools/keras_to_tfjs.py from {os.path.basename(source)}",
        "modelTopology": {"keras_version": version, "backend": "tensorflow", "model_config": config},
        "weightsManifest": [{"paths": ["weights.bin"],
                             "weights": [{"name": n, "shape": list(v.shape), "dtype": "float32"} for n, v in weights]}],
    }
    tmp = os.path.join(out_dir, f".weights.bin.{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(out_dir, "weights.bin"))
    tmp = os.path.join(out_dir, f".model.json.{os.getpid()}")
    with open(tmp, "w", encoding="utf8") as f:
        json.dump(model_json, f)
    os.replace(tmp, os.path.join(out_dir, "model.json"))
    return len(data)


def convert(path, out_dir):
    if not os.path.exists(path):
        raise ConvertError(f"{path}: no such file", 1)
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PK"):
        config, version, weights = read_keras(path)
    elif head == b"\x89HDF\r\n\x1a\n":
        config, version, weights = read_h5(path)
    else:
        raise ConvertError(f"{path} is neither a .keras zip nor an HDF5 .h5 file (a SavedModel directory: save it as .keras or .h5 first)", 1)
    size = write_tfjs(out_dir, config, version, weights, path)
    return version, len(weights), size


def main(argv=None):
    ap = argparse.ArgumentParser(prog="keras_to_tfjs.py", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="a Keras .h5 (Keras 2) or .keras (Keras 3) model file")
    ap.add_argument("--out", required=True, help="directory for model.json and weights.bin")
    args = ap.parse_args(argv)
    try:
        version, count, size = convert(args.input, args.out)
    except ConvertError as e:
        sys.stderr.write(f"keras_to_tfjs.py: {e}\n")
        return e.status
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as e:
        sys.stderr.write(f"keras_to_tfjs.py: cannot read {args.input}: {e}\n")
        return 1
    print(f"wrote {os.path.join(args.out, 'model.json')} and weights.bin: Keras {version}, {count} weights, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
