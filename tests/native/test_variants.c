/* test_variants.c - native tests (ASan, UBSan) of the cell variants: gradient checks of every
 * LSTM option (peephole, cifg, relu, projection, layer norm, hard sigmoid) and the GRU's, under
 * dropout and variational recurrent dropout, and of bidirectional models, with what each
 * direction reads and what they refuse. */
#include "check.h"

static void test_variant_gradients(void) {
    /* every LSTM variant and the GRU's, through a softmax every-step token model and a masked
     * dense mse last-step model; hard: hard sigmoid gates, before: the GRU's reset_before */
    static const struct { const char *name; int cell, peephole, cifg, activation, proj, ln, hard, before; } variants[] = {
        {"peephole", LSTM_CELL_LSTM, 1, 0, LSTM_ACTIVATION_TANH, 0, 0, 0, 0},
        {"cifg", LSTM_CELL_LSTM, 0, 1, LSTM_ACTIVATION_TANH, 0, 0, 0, 0},
        {"peephole + cifg", LSTM_CELL_LSTM, 1, 1, LSTM_ACTIVATION_TANH, 0, 0, 0, 0},
        {"relu", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_RELU, 0, 0, 0, 0},
        {"peephole + cifg + relu", LSTM_CELL_LSTM, 1, 1, LSTM_ACTIVATION_RELU, 0, 0, 0, 0},
        {"gru relu", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_RELU, 0, 0, 0, 0},
        {"projection 5 -> 3", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_TANH, 3, 0, 0, 0},
        {"projection + peephole + cifg", LSTM_CELL_LSTM, 1, 1, LSTM_ACTIVATION_TANH, 2, 0, 0, 0},
        {"layer norm", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_TANH, 0, 1, 0, 0},
        {"hard sigmoid", LSTM_CELL_LSTM, 0, 0, LSTM_ACTIVATION_TANH, 0, 0, 1, 0},
        {"hard sigmoid + peephole + projection", LSTM_CELL_LSTM, 1, 0, LSTM_ACTIVATION_TANH, 3, 0, 1, 0},
        {"gru hard sigmoid", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_TANH, 0, 0, 1, 0},
        {"gru reset before", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_TANH, 0, 0, 0, 1},
        {"gru reset before + hard sigmoid + relu", LSTM_CELL_GRU, 0, 0, LSTM_ACTIVATION_RELU, 0, 0, 1, 1},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        g_variant = (lstm_config){.peephole = variants[v].peephole, .cifg = variants[v].cifg,
                                  .activation = variants[v].activation, .proj_size = variants[v].proj,
                                  .layer_norm = variants[v].ln, .recurrent_activation = variants[v].hard,
                                  .gru_reset_before = variants[v].before};
        /* relu and the hard sigmoid are piecewise linear: a kink within a difference's step */
        DIR_TOL = variants[v].activation == LSTM_ACTIVATION_RELU || variants[v].hard ? DIR_TOL_RELU : DIR_TOL_SMOOTH;
        char n1[80], n2[80];
        snprintf(n1, sizeof n1, "%s: softmax every step, tokens", variants[v].name);
        snprintf(n2, sizeof n2, "%s: mse last step, dense, masked", variants[v].name);
        const task_case cases[2] = {{n1, 6, LSTM_HEAD_SOFTMAX, 0, 0, variants[v].cell},
                                    {n2, 0, LSTM_HEAD_MSE, 1, 1, variants[v].cell}};
        int before = g_failed;
        for (int i = 0; i < 2 && g_failed == before; i++) test_task_case(&cases[i]);
        if (g_failed == before) {
            /* and the one-step inference path gives the training forward's outputs */
            const task_case tc = {"infer", 0, LSTM_HEAD_MSE, 0, 0, variants[v].cell};
            lstm_model *m = make_task_model(&tc, 2, 0.0f);
            static task_batch d;
            fill_task_batch(&d, &tc);
            float y[GB * GT * TV], step[TV];
            double worst = 0;
            if (m && lstm_predict(m, &d.b, y, GB * GT * TV) == LSTM_OK)
                for (int b = 0; b < GB; b++) {
                    lstm_infer_reset(m);
                    for (int t = 0; t < GT; t++) {
                        lstm_infer_step(m, 0, d.inputs + (b * GT + t) * TX, step);
                        for (int k = 0; k < TV; k++) worst = fmax(worst, fabs(step[k] - y[(b * GT + t) * TV + k]));
                    }
                }
            lstm_free(m);
            CHECK(m && worst < 1e-6, "%s: inference and training disagree by %g", variants[v].name, worst);
        }
        g_variant = (lstm_config){0};
        DIR_TOL = DIR_TOL_SMOOTH;
        if (g_failed != before) return;
    }
}

static void test_dropout_gradcheck(void) {
    /* with dropout between layers and variational recurrent dropout, the gradient is that of
     * the loss under the batch's masks: finite differences of that same masked loss agree */
    for (int run_i = 0; run_i < 4; run_i++) {
        const int cell = run_i == 1 ? LSTM_CELL_GRU : LSTM_CELL_LSTM;
        lstm_config c = {.input_vocab = 0, .input_size = TX, .hidden_size = TH, .num_layers = 2,
                         .output_size = TV, .seed = 11, .dropout = 0.25f, .init_scale = 0.5f,
                         .head = LSTM_HEAD_MSE, .cell = cell, .recurrent_dropout = 0.4f,
                         .proj_size = run_i == 2 ? 3 : 0, .bidirectional = run_i == 3};
        lstm_model *m = NULL;
        lstm_message msg;
        OK(lstm_create(&c, &m, &msg));
        const task_case tc = {"dropout", 0, LSTM_HEAD_MSE, 0, 1, cell};
        static task_batch d;
        fill_task_batch(&d, &tc);
        double l1, l2, le;
        OK(lstm_compute_gradients(m, &d.b, &l1));
        size_t n = lstm_parameter_count(m);
        float *ana = malloc(n * sizeof *ana);
        memcpy(ana, lstm_gradients(m), n * sizeof *ana);
        OK(lstm_compute_gradients(m, &d.b, &l2));
        OK(lstm_compute_loss(m, &d.b, &le));
        CHECK(l1 == l2 && memcmp(ana, lstm_gradients(m), n * sizeof *ana) == 0, "masks not repeatable");
        CHECK(le != l1, "dropout had no effect");
        g_loss = lstm_compute_gradients;
        gradcheck_result r = gradcheck(m, &d.b, ana, 1);
        g_loss = lstm_compute_loss;
        printf("  %s, dropout 0.25 + recurrent dropout 0.4: masked loss %.4f (no dropout %.4f), max rel err direction %.2e, entry %.2e\n",
               run_i == 3 ? "bidirectional lstm" : run_i == 2 ? "lstm, projection 5 -> 3" : cell ? "gru" : "lstm",
               l1, le, r.max_dir_err, r.max_elem_err);
        free(ana);
        CHECK(r.bad == 0, "%d gradient checks beyond tolerance", r.bad);
        /* a training step draws new masks: the next masked loss differs */
        float lt;
        OK(lstm_train_batch(m, &d.b, &lt));
        CHECK(fabs(lt - l1) < 1e-5, "train_batch loss %g vs compute_gradients %g", lt, l1);
        lstm_free(m);
    }
}

/* Copy unit u of a bidirectional model into a one-directional one (same cell and sizes). */
static void copy_unit(lstm_model *bi, int u, lstm_model *uni) {
    const int n = lstm_tensor_count(uni) - 2; /* the layer tensors, before the head */
    for (int i = 0; i < n; i++) {
        lstm_tensor_info src, dst;
        lstm_tensor(bi, u * n + i, &src);
        lstm_tensor(uni, i, &dst);
        memcpy(lstm_parameters(uni) + dst.offset, lstm_parameters(bi) + src.offset,
               (size_t)dst.rows * dst.cols * sizeof(float));
    }
    lstm_parameters_changed(uni);
}

static void test_bidirectional(void) {
    /* gradients of every cell and head through two bidirectional layers, padded batches */
    static const struct { const char *name; int cell, peephole, cifg, proj, ln; } cells[] = {
        {"lstm", LSTM_CELL_LSTM, 0, 0, 0, 0},
        {"gru", LSTM_CELL_GRU, 0, 0, 0, 0},
        {"peephole + cifg", LSTM_CELL_LSTM, 1, 1, 0, 0},
        {"projection 5 -> 3", LSTM_CELL_LSTM, 0, 0, 3, 0},
        {"layer norm", LSTM_CELL_LSTM, 0, 0, 0, 1},
    };
    for (size_t v = 0; v < sizeof cells / sizeof cells[0]; v++) {
        g_variant = (lstm_config){.peephole = cells[v].peephole, .cifg = cells[v].cifg,
                                  .proj_size = cells[v].proj, .layer_norm = cells[v].ln, .bidirectional = 1};
        char n[4][96];
        snprintf(n[0], sizeof n[0], "bidirectional %s: mse every step, dense, masked", cells[v].name);
        snprintf(n[1], sizeof n[1], "bidirectional %s: softmax last step, tokens, masked", cells[v].name);
        snprintf(n[2], sizeof n[2], "bidirectional %s: mse last step, dense, masked", cells[v].name);
        snprintf(n[3], sizeof n[3], "bidirectional %s: softmax every step, tokens", cells[v].name);
        const task_case cases[4] = {{n[0], 0, LSTM_HEAD_MSE, 0, 1, cells[v].cell},
                                    {n[1], 6, LSTM_HEAD_SOFTMAX, 1, 1, cells[v].cell},
                                    {n[2], 0, LSTM_HEAD_MSE, 1, 1, cells[v].cell},
                                    {n[3], 6, LSTM_HEAD_SOFTMAX, 0, 0, cells[v].cell}};
        int before = g_failed;
        for (int i = 0; i < (v == 0 ? 4 : 2) && g_failed == before; i++) test_task_case(&cases[i]);
        g_variant = (lstm_config){0};
        if (g_failed != before) return;
    }

    /* what each direction reads: with the other half of out.weight zeroed, a one-layer
     * bidirectional classifier is a one-directional model on the sequences (forward), or on
     * each sequence reversed within its length (reverse: its last step is the first) */
    const task_case tc = {"semantics", 0, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM};
    g_variant = (lstm_config){.bidirectional = 1};
    lstm_model *bi = make_task_model(&tc, 1, 0.0f);
    g_variant = (lstm_config){0};
    lstm_model *uni = make_task_model(&tc, 1, 0.0f);
    CHECK(bi && uni, "create");
    if (!bi || !uni) return;
    static task_batch d, r;
    fill_task_batch(&d, &tc);
    r = d;
    for (int b = 0; b < GB; b++)
        for (int t = 0; t < d.lengths[b]; t++)
            memcpy(r.inputs + (b * GT + t) * TX, d.inputs + (b * GT + d.lengths[b] - 1 - t) * TX, TX * sizeof(float));
    r.b.inputs = r.inputs;
    r.b.lengths = r.lengths;
    lstm_tensor_info wo_bi, wo_uni, bo_bi, bo_uni;
    const int nb = lstm_tensor_count(bi), nu = lstm_tensor_count(uni);
    lstm_tensor(bi, nb - 2, &wo_bi), lstm_tensor(uni, nu - 2, &wo_uni);
    lstm_tensor(bi, nb - 1, &bo_bi), lstm_tensor(uni, nu - 1, &bo_uni);
    CHECK(wo_bi.cols == 2 * TH && wo_uni.cols == TH, "out.weight is (%d, %d)", wo_bi.rows, wo_bi.cols);
    lstm_tensor_info t4;
    lstm_tensor(bi, 4, &t4);
    CHECK(strcmp(t4.name, "weight_ih_l0_reverse") == 0, "tensor 4 is %s", t4.name);
    float saved[TV * 2 * TH];
    float *wb = lstm_parameters(bi) + wo_bi.offset, *wu = lstm_parameters(uni) + wo_uni.offset;
    memcpy(saved, wb, sizeof saved);
    memcpy(lstm_parameters(uni) + bo_uni.offset, lstm_parameters(bi) + bo_bi.offset, TV * sizeof(float));
    for (int dir = 0; dir < 2; dir++) {
        copy_unit(bi, dir, uni);
        for (int v = 0; v < TV; v++)
            for (int j = 0; j < TH; j++) {
                wu[v * TH + j] = saved[v * 2 * TH + dir * TH + j];
                wb[v * 2 * TH + (1 - dir) * TH + j] = 0.0f; /* the other direction's half */
                wb[v * 2 * TH + dir * TH + j] = saved[v * 2 * TH + dir * TH + j];
            }
        lstm_parameters_changed(bi);
        float pb[GB * TV], pu[GB * TV];
        OK(lstm_predict(bi, &d.b, pb, GB * TV));
        OK(lstm_predict(uni, dir ? &r.b : &d.b, pu, GB * TV));
        double worst = 0;
        for (int i = 0; i < GB * TV; i++) worst = fmax(worst, fabs(pb[i] - pu[i]));
        printf("  %s direction alone = a one-directional model on the %s sequences: max diff %.1e\n",
               dir ? "reverse" : "forward", dir ? "reversed" : "same", worst);
        CHECK(worst < 1e-6, "%s direction differs by %g", dir ? "reverse" : "forward", worst);
    }
    memcpy(wb, saved, sizeof saved);
    lstm_parameters_changed(bi);

    /* inputs wider than both directions together (dense 40, or 50 tokens, against 2H = 6), one-
     * step batches and a re-laid workspace: under AddressSanitizer every workspace piece ends in
     * a poisoned gap, so a piece sized for the wrong width is reported here */
    for (int v = 0; v < 4; v++) {
        lstm_config wc = {.input_vocab = v & 1 ? 50 : 0, .input_size = 40, .hidden_size = 3, .num_layers = 2,
                          .output_size = 7, .seed = 3, .dropout = 0.3f, .bidirectional = 1,
                          .last_step_only = v >> 1, .cell = v == 3 ? LSTM_CELL_GRU : LSTM_CELL_LSTM};
        lstm_model *wm = NULL;
        lstm_message wmsg;
        OK(lstm_create(&wc, &wm, &wmsg));
        for (int T = 1; wm && T <= 5; T += 4) {
            int32_t tok[10], tgt[10], len[2] = {1, T};
            float x[10 * 40], y[10 * 7], lf;
            double lw;
            for (int i = 0; i < 10; i++) tok[i] = (i * 7) % 50, tgt[i] = i % 7;
            for (int i = 0; i < 400; i++) x[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
            lstm_batch wide = {2, T, wc.input_vocab ? tok : NULL, wc.input_vocab ? NULL : x, tgt, NULL, len};
            OK(lstm_compute_gradients(wm, &wide, &lw));
            OK(lstm_train_batch(wm, &wide, &lf));
            OK(lstm_predict(wm, &wide, y, 70));
        }
        lstm_free(wm);
    }

    /* whole sequences only: stream training and step inference refuse, the model stays usable */
    int32_t stream[64] = {0}, out[4];
    lstm_sampling smp = {1, 0, 0, 0};
    CHECK(lstm_infer_reset(bi) == LSTM_ERR_STATE, "infer_reset accepted");
    CHECK(lstm_infer_step(bi, 0, d.inputs, NULL) == LSTM_ERR_STATE, "infer_step accepted");
    CHECK(strstr(lstm_error_message(bi), "bidirectional") != NULL, "message: %s", lstm_error_message(bi));
    CHECK(lstm_generate(bi, stream, 1, &smp, 4, out) == LSTM_ERR_STATE, "generate accepted");
    CHECK(lstm_train_stream(bi, stream, 64, 2, 4, 1, NULL) == LSTM_ERR_STATE, "train_stream accepted");
    /* nothing is carried: after a step, the loss starts from zeros again */
    float lt;
    double l1, le;
    OK(lstm_train_batch(bi, &d.b, &lt));
    OK(lstm_compute_loss(bi, &d.b, &l1));
    OK(lstm_evaluate_batch(bi, &d.b, &le, NULL));
    CHECK(l1 == le, "compute_loss %g after a step vs evaluate %g: state was carried", l1, le);
    OK(lstm_train_batch(bi, &d.b, &lt));
    CHECK(fabs(lt - l1) < 1e-6, "second step's loss %g vs %g", lt, l1);
    /* files: version 2 (3 with a trained model's training state, for its running loss
     * mean), the same predictions after loading */
    size_t len;
    uint8_t *weights = save(bi, 0, &len);
    CHECK(weights && weights[8] == 2, "saved as version %d", weights ? weights[8] : -1);
    free(weights);
    uint8_t *buf = save(bi, LSTM_SAVE_TRAINING_STATE, &len);
    lstm_model *back = NULL;
    lstm_message msg;
    OK(lstm_load(buf, len, &back, &msg));
    CHECK(buf && buf[8] == 3, "saved as version %d", buf ? buf[8] : -1);
    float p1[GB * TV], p2[GB * TV];
    OK(lstm_predict(bi, &d.b, p1, GB * TV));
    if (back) OK(lstm_predict(back, &d.b, p2, GB * TV));
    CHECK(back && memcmp(p1, p2, sizeof p1) == 0, "loaded model predicts differently");
    lstm_config cb;
    if (back) lstm_get_config(back, &cb);
    CHECK(back && cb.bidirectional == 1, "bidirectional lost on load");
    free(buf);
    lstm_free(back);
    lstm_free(bi);
    lstm_free(uni);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach CI logs even if a sanitizer ends the run */
    printf("lstm-wasm native tests: cell variants, dropout, bidirectional (%s kernels)\n", lstm_kernels_best()->impl);
    run("gradient check under dropout and variational recurrent dropout", test_dropout_gradcheck);
    run("gradient check, peephole, cifg and relu variants", test_variant_gradients);
    run("bidirectional: gradients, what each direction reads, whole sequences only", test_bidirectional);
    return check_summary();
}
