/* layout_json.c - writes the parameter table's rules (src/params.c) as JSON, for the tools that
 * are not C: tools/lstm_layout.json, read by tools/torch_convert.py. `make` keeps the file in
 * step with the C table and `make test` fails if the committed one differs. */
#include <stdio.h>

#include "../src/model.h"

static const char *DIMS[] = {"G", "X", "S", "H", "P", "PEEPHOLES", "V", "O", "2", "1"};
static const char *WHEN[] = {"always", "peephole", "proj_size", "layer_norm"};

static void rules(int head) {
    int n = 0;
    const lstm_tensor_rule *r = lstm_tensor_rules(head, &n);
    printf("  \"%s\": [\n", head ? "head" : "unit");
    for (int i = 0; i < n; i++)
        printf("    {\"name\": \"%s\", \"rows\": \"%s\", \"cols\": \"%s\", \"when\": \"%s\"}%s\n", r[i].name,
               DIMS[r[i].rows], DIMS[r[i].cols], WHEN[r[i].when], i + 1 < n ? "," : "");
    printf("  ]%s\n", head ? "" : ",");
}

int main(void) {
    printf("{\n");
    printf("  \"about\": \"The parameter arena of an lstm-wasm model (src/params.c, written by tools/layout_json.c): "
           "for each unit (one direction of one layer: l0, l0_reverse, l1, ...) the unit rules in order, the name "
           "suffixed _l{layer} and _reverse for the reverse direction; then the head. A rule applies when its "
           "option is set. G = gate rows (4 H; 3 H for the GRU and CIFG), X = the unit's input (input_vocab or "
           "input_size for layer 0, else O), S = proj_size or H, P = proj_size, PEEPHOLES = 3 (2 with CIFG), "
           "V = output_size, O = directions x S.\",\n");
    rules(0);
    rules(1);
    printf("}\n");
    return 0;
}
