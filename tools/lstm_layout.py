#!/usr/bin/env python3
"""The parameter arena of an lstm-wasm model for the Python tools, read from lstm_layout.json.

lstm_layout.json, beside this file, is src/params.c's table written out (by tools/layout_json.c;
`make layout`): the rules a unit (one direction of one layer) and the head have, each a PyTorch
name, rows and cols in symbolic dimensions, and the config option that makes it apply. This
module only gives the dimensions their sizes for a config; the order, the names and which tensors
exist come from the file. Plain Python 3, no torch or numpy.

config: a dict with the model file's field names (tools/lstm_file.py's CONFIG_FIELDS):
input_vocab (0 for dense inputs), input_size, hidden_size, num_layers, output_size, and the
optional cell (0 LSTM, 1 GRU), peephole, cifg, proj_size, layer_norm, bidirectional (default 0).

    /usr/bin/python3 tools/lstm_layout.py < configs.json   # a JSON list of configs -> their tensors
"""

import collections
import json
import os
import sys

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lstm_layout.json")


class LayoutError(Exception):
    """lstm_layout.json is missing or holds something this module cannot evaluate."""


class Tensor(collections.namedtuple("Tensor", "name rows cols offset unit vector")):
    """One tensor of the arena: its PyTorch name (weight_ih_l0, weight_ih_l0_reverse, ...,
    out.weight), rows x cols floats row-major at offset (in floats), the unit it belongs to
    (layer * directions + direction; None for the head), and whether it is a vector (a bias,
    cols "1": PyTorch's shape is (rows,))."""

    __slots__ = ()

    @property
    def size(self):
        return self.rows * self.cols

    @property
    def shape(self):
        return (self.rows,) if self.vector else (self.rows, self.cols)


_rules = None


def rules():
    """The file's {"unit": [...], "head": [...]} rules, read once."""
    global _rules
    if _rules is None:
        try:
            with open(PATH, encoding="utf-8") as f:
                table = json.load(f)
        except FileNotFoundError:
            raise LayoutError(f"{PATH} is missing: it holds the parameter layout lstm_layout.py reads. "
                              "Copy it from lstm-wasm's tools/ beside lstm_layout.py (it is written by `make layout`)")
        except (OSError, ValueError) as e:
            raise LayoutError(f"{PATH}: cannot read the parameter layout: {e}")
        for rule in table.get("unit", []) + table.get("head", []):
            for dim in (rule["rows"], rule["cols"]):
                if dim not in _DIMS and not dim.isdigit():
                    raise LayoutError(f"{PATH}: dimension {dim!r} of {rule['name']} is not one lstm_layout.py knows")
            if rule["when"] != "always" and rule["when"] not in ("peephole", "cifg", "proj_size", "layer_norm"):
                raise LayoutError(f"{PATH}: option {rule['when']!r} of {rule['name']} is not one lstm_layout.py knows")
        _rules = table
    return _rules


# The dimensions, as the file's "about" defines them (and src/model.h computes them), for a
# config c and a unit whose input is x wide.
def _gates(c):  # gate rows per hidden unit: i, f, g, o; r, z, n for the GRU; i, g, o with CIFG
    return 3 if c.get("cell", 0) == 1 or c.get("cifg", 0) else 4


def _state(c):  # the width of h: the projection's, or H
    return c.get("proj_size", 0) or c["hidden_size"]


def _directions(c):
    return 2 if c.get("bidirectional", 0) else 1


_DIMS = {
    "G": lambda c, x: _gates(c) * c["hidden_size"],
    "X": lambda c, x: x,
    "S": lambda c, x: _state(c),
    "H": lambda c, x: c["hidden_size"],
    "P": lambda c, x: c.get("proj_size", 0),
    "PEEPHOLES": lambda c, x: (2 if c.get("cifg", 0) else 3) if c.get("peephole", 0) else 0,
    "V": lambda c, x: c["output_size"],
    "O": lambda c, x: _directions(c) * _state(c),
}


def _size(dim, c, x):
    return int(dim) if dim.isdigit() else _DIMS[dim](c, x)


def tensors(config):
    """Every tensor of the arena of a model with this config, in arena order (a list of Tensor)."""
    table = rules()
    D = _directions(config)
    out, at = [], 0

    def add(rule, name, x, unit):
        nonlocal at
        if rule["when"] != "always" and not config.get(rule["when"], 0):
            return
        t = Tensor(name, _size(rule["rows"], config, x), _size(rule["cols"], config, x), at, unit, rule["cols"] == "1")
        out.append(t)
        at += t.size

    for unit in range(config["num_layers"] * D):
        layer, reverse = divmod(unit, D)
        x = (config["input_vocab"] or config["input_size"]) if layer == 0 else _DIMS["O"](config, 0)
        for rule in table["unit"]:
            add(rule, f"{rule['name']}_l{layer}{'_reverse' if reverse else ''}", x, unit)
    for rule in table["head"]:
        add(rule, rule["name"], 0, None)
    return out


def parameter_count(config):
    """The number of floats in the arena."""
    return sum(t.size for t in tensors(config))


def main():
    """Read a JSON list of configs from stdin; print, for each, its tensors and the total."""
    try:
        configs = json.load(sys.stdin)
        print(json.dumps([{"tensors": [dict(name=t.name, offset=t.offset, rows=t.rows, cols=t.cols) for t in tensors(c)],
                           "total": parameter_count(c)} for c in configs]))
    except LayoutError as e:
        print(f"lstm_layout.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
