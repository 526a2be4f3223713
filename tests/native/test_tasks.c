/* test_tasks.c - native tests (ASan, UBSan) of the task heads (softmax or mse, every step or
 * the last) and masking by sequence lengths: gradient checks, the state carried after a masked
 * batch, one-step inference against the training forward, predict and evaluate_batch, and bad
 * task options and batches. The task models and their check are in check.h. */
#include "check.h"

static void test_task_gradients(void) {
    static const task_case cases[] = {
        {"mse every step, dense", 0, LSTM_HEAD_MSE, 0, 0, LSTM_CELL_LSTM},
        {"mse every step, dense, masked", 0, LSTM_HEAD_MSE, 0, 1, LSTM_CELL_LSTM},
        {"mse last step, dense", 0, LSTM_HEAD_MSE, 1, 0, LSTM_CELL_LSTM},
        {"mse last step, dense, masked", 0, LSTM_HEAD_MSE, 1, 1, LSTM_CELL_LSTM},
        {"softmax last step (classification), dense", 0, LSTM_HEAD_SOFTMAX, 1, 0, LSTM_CELL_LSTM},
        {"softmax last step, dense, masked", 0, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM},
        {"softmax last step, tokens, masked", 6, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM},
        {"softmax every step, tokens, masked", 6, LSTM_HEAD_SOFTMAX, 0, 1, LSTM_CELL_LSTM},
        {"softmax every step, dense, masked", 0, LSTM_HEAD_SOFTMAX, 0, 1, LSTM_CELL_LSTM},
        {"gru: softmax every step, tokens", 6, LSTM_HEAD_SOFTMAX, 0, 0, LSTM_CELL_GRU},
        {"gru: softmax every step, dense", 0, LSTM_HEAD_SOFTMAX, 0, 0, LSTM_CELL_GRU},
        {"gru: mse last step, dense, masked", 0, LSTM_HEAD_MSE, 1, 1, LSTM_CELL_GRU},
        {"gru: softmax last step, tokens, masked", 6, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_GRU},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int before = g_failed;
        test_task_case(&cases[i]);
        if (g_failed != before) return;
    }
}

static void test_cell_inference_matches_training(void) {
    /* the one-step inference path (infer.c) against the batched training forward, per cell */
    for (int cell = LSTM_CELL_LSTM; cell <= LSTM_CELL_GRU; cell++) {
        const task_case tc = {"infer", 0, LSTM_HEAD_MSE, 0, 0, cell};
        lstm_model *m = make_task_model(&tc, 2, 0.0f);
        CHECK(m, "create");
        static task_batch d;
        fill_task_batch(&d, &tc);
        float y[GB * GT * TV], step[TV];
        OK(lstm_predict(m, &d.b, y, GB * GT * TV));
        double worst = 0;
        for (int b = 0; b < GB; b++) {
            OK(lstm_infer_reset(m));
            for (int t = 0; t < GT; t++) {
                OK(lstm_infer_step(m, 0, d.inputs + (b * GT + t) * TX, step));
                for (int v = 0; v < TV; v++) worst = fmax(worst, fabs(step[v] - y[(b * GT + t) * TV + v]));
            }
        }
        printf("  %s: max |step - batch| %.2e\n", cell ? "gru" : "lstm", worst);
        CHECK(worst < 1e-6, "inference and training disagree by %g", worst);
        lstm_free(m);
    }
}

static void test_masked_state_carry(void) {
    /* the state carried on after a masked batch is the one after each sequence's last valid
     * step: scrambling the padding changes nothing about the next batch's loss */
    const task_case tc = {"carry", 0, LSTM_HEAD_MSE, 0, 1, LSTM_CELL_LSTM};
    double loss[2];
    for (int run_i = 0; run_i < 2; run_i++) {
        lstm_model *m = make_task_model(&tc, 2, 0.0f);
        CHECK(m, "create");
        rng_state = 12345;
        static task_batch d;
        fill_task_batch(&d, &tc);
        if (run_i) scramble_padding(&d, &tc);
        float l;
        OK(lstm_train_batch(m, &d.b, &l));
        d.b.lengths = NULL;
        for (int i = 0; i < GB * GT * TV; i++) d.values[i] = 0.5f;
        for (int i = 0; i < GB * GT * TX; i++) d.inputs[i] = 0.25f;
        OK(lstm_compute_loss(m, &d.b, &loss[run_i]));
        lstm_free(m);
    }
    printf("  next-batch loss %.9f and %.9f\n", loss[0], loss[1]);
    CHECK(loss[0] == loss[1], "padding leaked into the carried state");
}

static void test_predict_and_evaluate(void) {
    /* predictions reproduce evaluate_batch's loss and accuracy; a v2 file round-trips */
    const task_case cls = {"cls", 0, LSTM_HEAD_SOFTMAX, 1, 1, LSTM_CELL_LSTM}, reg = {"reg", 0, LSTM_HEAD_MSE, 0, 1, LSTM_CELL_LSTM};
    static task_batch d;
    lstm_model *m = make_task_model(&cls, 2, 0.0f);
    CHECK(m, "create");
    fill_task_batch(&d, &cls);
    double loss, acc;
    OK(lstm_evaluate_batch(m, &d.b, &loss, &acc));
    float p[GB * TV];
    CHECK(lstm_predict(m, &d.b, p, GB * TV - 1) == LSTM_ERR_BUFFER_TOO_SMALL, "small predict buffer accepted");
    OK(lstm_predict(m, &d.b, p, GB * TV));
    double nll = 0;
    int correct = 0;
    for (int b = 0; b < GB; b++) {
        int best = 0;
        for (int v = 1; v < TV; v++) best = p[b * TV + v] > p[b * TV + best] ? v : best;
        correct += best == d.targets[b];
        nll -= log(p[b * TV + d.targets[b]]);
    }
    printf("  classification: loss %.6f (from predictions %.6f), accuracy %.3f\n", loss, nll / GB, acc);
    CHECK(fabs(nll / GB - loss) < 1e-5, "predict and evaluate disagree");
    CHECK(fabs(acc - (double)correct / GB) < 1e-12, "accuracy %g, predictions give %d/%d", acc, correct, GB);
    lstm_free(m);

    m = make_task_model(&reg, 2, 0.0f);
    CHECK(m, "create");
    fill_task_batch(&d, &reg);
    OK(lstm_evaluate_batch(m, &d.b, &loss, &acc));
    CHECK(isnan(acc), "accuracy of an mse model should be NaN, got %g", acc);
    float y[GB * GT * TV];
    OK(lstm_predict(m, &d.b, y, GB * GT * TV));
    double se = 0;
    int count = 0;
    for (int b = 0; b < GB; b++)
        for (int t = 0; t < GT; t++)
            for (int v = 0; v < TV; v++) {
                int i = (b * GT + t) * TV + v;
                if (t >= d.lengths[b]) {
                    CHECK(y[i] == 0.0f, "padded prediction not zero");
                    continue;
                }
                se += ((double)y[i] - d.values[i]) * ((double)y[i] - d.values[i]);
                count++;
            }
    printf("  regression: loss %.6f (from predictions %.6f)\n", loss, se / count);
    CHECK(fabs(se / count - loss) < 1e-5, "predict and evaluate disagree");
    /* version 2 file: saved, loaded, same predictions */
    size_t size, written;
    OK(lstm_save_size(m, LSTM_SAVE_TRAINING_STATE, &size));
    uint8_t *buf = malloc(size);
    OK(lstm_save(m, LSTM_SAVE_TRAINING_STATE, buf, size, &written));
    uint32_t version;
    memcpy(&version, buf + 8, 4);
    CHECK(version == 2, "a model with an mse head saved as version %u", version);
    lstm_model *back = NULL;
    lstm_message msg;
    OK(lstm_load(buf, size, &back, &msg));
    lstm_config c1, c2;
    lstm_get_config(m, &c1);
    lstm_get_config(back, &c2);
    CHECK(memcmp(&c1, &c2, sizeof c1) == 0, "config changed through save/load");
    float y2[GB * GT * TV];
    OK(lstm_predict(back, &d.b, y2, GB * GT * TV));
    CHECK(memcmp(y, y2, sizeof y) == 0, "predictions changed through save/load");
    lstm_free(back);
    free(buf);
    lstm_free(m);
    /* the plain model still writes version 1 */
    m = make_model(5, 0, 4, 1, 5, 0.0f);
    CHECK(m, "create");
    OK(lstm_save_size(m, 0, &size));
    buf = malloc(size);
    OK(lstm_save(m, 0, buf, size, &written));
    memcpy(&version, buf + 8, 4);
    free(buf);
    lstm_free(m);
    CHECK(version == 1, "a plain model saved as version %u", version);
}

static void test_task_bad_arguments(void) {
#define BASE .input_size = 2, .hidden_size = 4, .num_layers = 1, .output_size = 2
    /* each configuration refused at create, with the message it must name */
    const struct { lstm_config c; const char *want; } refused[] = {
        {{BASE, .head = 2}, "head must be 0 (softmax) or 1 (mse), got 2"},
        {{BASE, .last_step_only = -1}, "last_step_only must be 0 or 1, got -1"},
        {{BASE, .cell = 2}, "cell must be 0 (lstm) or 1 (gru), got 2"},
        {{BASE, .recurrent_dropout = 1.0f}, "recurrent_dropout must be in [0, 1), got 1"},
        {{BASE, .recurrent_dropout = NAN}, "recurrent_dropout"},
        {{BASE, .orthogonal_init = 2}, "orthogonal_init must be 0 or 1, got 2"},
        {{BASE, .activation = 2}, "activation must be 0 (tanh) or 1 (relu), got 2"},
        {{BASE, .cell = LSTM_CELL_GRU, .cifg = 1}, "the GRU has neither"},
        {{BASE, .proj_size = 4}, "proj_size must be 0 or in [1, hidden_size - 1] = [1, 3], got 4"},
        {{BASE, .proj_size = 2, .cell = LSTM_CELL_GRU}, "PyTorch's GRU has none"},
    };
    lstm_model *m = NULL;
    lstm_message msg = {{0}};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        CHECK(lstm_create(&refused[i].c, &m, &msg) == LSTM_ERR_INVALID_ARGUMENT && strstr(msg.text, refused[i].want),
              "refused[%zu]: %s", i, msg.text);
    }
    lstm_config c = {BASE, .head = LSTM_HEAD_MSE};
#undef BASE
    OK(lstm_create(&c, &m, &msg));
    float x[2 * 3 * 2] = {0}, v[2 * 3 * 2] = {0};
    int32_t lengths[2] = {3, 0};
    lstm_batch b = {2, 3, NULL, x, NULL, NULL, lengths};
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(m), "lengths[1] = 0 is outside [1, 3]"),
          "length 0: %s", lstm_error_message(m));
    lengths[1] = 2;
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(m), "target_values is NULL"),
          "NULL target values: %s", lstm_error_message(m));
    b.target_values = v;
    v[4] = NAN; /* batch 0, step 2: a valid step */
    CHECK(lstm_train_batch(m, &b, NULL) == LSTM_ERR_INVALID_ARGUMENT && strstr(lstm_error_message(m), "target_values[4] is not finite"),
          "NaN target: %s", lstm_error_message(m));
    v[4] = 0;
    v[10] = NAN; /* batch 1, step 2: padding, never read */
    float loss;
    OK(lstm_train_batch(m, &b, &loss));
    CHECK(isfinite(loss), "loss %g", loss);
    int32_t stream[64] = {0};
    CHECK(lstm_train_stream(m, stream, 64, 2, 4, 1, NULL) == LSTM_ERR_STATE, "stream on a dense mse model");
    lstm_sampling s = {1, 0, 1, 0};
    int32_t tok;
    OK(lstm_infer_step(m, 0, x, NULL));
    CHECK(lstm_sample(m, &s, &tok) == LSTM_ERR_STATE && strstr(lstm_error_message(m), "softmax head"),
          "sampling an mse head: %s", lstm_error_message(m));
    double l;
    CHECK(lstm_evaluate_batch(m, &b, NULL, NULL) == LSTM_ERR_INVALID_ARGUMENT, "NULL loss accepted");
    OK(lstm_evaluate_batch(m, &b, &l, NULL));
    lstm_free(m);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines reach CI logs even if a sanitizer ends the run */
    printf("lstm-wasm native tests: task heads and masking (%s kernels)\n", lstm_kernels_best()->impl);
    run("gradient check, task heads and masking", test_task_gradients);
    run("masked batch carries the state of each sequence's last step", test_masked_state_carry);
    run("inference steps match the training forward, lstm and gru", test_cell_inference_matches_training);
    run("predict and evaluate_batch agree; version 2 file", test_predict_and_evaluate);
    run("task options and batches: bad values named", test_task_bad_arguments);
    return check_summary();
}
