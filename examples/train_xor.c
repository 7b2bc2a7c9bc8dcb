/* train_xor.c - training a network from C: build it with the Module API, train it with
 * mt_train_run (the loop behind `mtc train`), save it, print its accuracy.
 *
 * The model is MiniTorch's Xor classifier with a dropout layer, as a PyTorch user would write
 *
 *     net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.1),
 *                         nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
 *
 * Tracing the tree on symbolic inputs gives its forward pass as MTIR; the loss and the
 * prediction are added with the same builder. Dropout differs between training and
 * evaluation, so the model is traced twice: in train mode for the training step, in eval mode
 * for the test accuracy. mt_train_run differentiates the loss graph, adds Adam's update,
 * compiles that step graph once and runs it for every batch.
 *
 * Usage: example_train_xor [CHECKPOINT.safetensors]  (default: train_xor.safetensors)
 * Built and run as a test; it fails unless the test accuracy reaches 90%.
 */
#include <stdio.h>
#include <string.h>

#include "frontend/nn.h"
#include "frontend/train.h"

#define HIDDEN 16
#define BATCH 10

/* The loss graph of `net` for one batch, traced in the module's current mode: inputs %x
 * [B,2] and %y [B,1] (labels 0/1), outputs %loss (binary cross-entropy on the logits) and
 * %pred (probabilities), which mt_train_run uses for accuracy. */
static mt_graph *loss_graph(mt_module *net, const char *name)
{
    mt_graph *g = mt_graph_new(name);
    int64_t xd[2] = {BATCH, 2}, yd[2] = {BATCH, 1};
    int x = mt_input(g, "x", mt_type_make(MT_DTYPE_F32, 2, xd));
    int y = mt_input(g, "y", mt_type_make(MT_DTYPE_F32, 2, yd));
    int logits = mt_module_trace(net, g, &x, 1); /* declares net's params, runs forward */
    int outs[2] = {mt_name(g, mt_nn_bce_logits(g, logits, y), "loss"),
                   mt_name(g, mt_sigmoid(g, logits), "pred")};
    mt_set_outputs(g, outs, 2);
    if (mt_graph_diag(g)->status != MT_OK) { /* builder errors are kept and checked once */
        fprintf(stderr, "%s\n", mt_graph_diag(g)->msg);
        mt_graph_free(g);
        return NULL;
    }
    return g;
}

/* Moves tensor `from` of src into dst's map under `to` (a copy; src keeps its own). */
static int adopt(mt_dataset *dst, const char *to, const mt_tensor *from)
{
    mt_tensor *t = mt_tensor_new(*mt_tensor_type(from));
    if (!t)
        return 0;
    memcpy(mt_tensor_data(t), mt_tensor_data(from), mt_tensor_nbytes(t));
    return mt_tensor_map_put(dst->tensors, to, t) == MT_OK;
}

int main(int argc, char **argv)
{
    const char *checkpoint = argc > 1 ? argv[1] : "train_xor.safetensors";
    mt_diag d;
    mt_diag_init(&d);

    /* The network. Constructors draw PyTorch's default initialisation; mt_module_init redraws
     * every parameter from one seed. */
    mt_module *net = mt_nn_sequential_new();
    mt_module_add_child(net, NULL, mt_nn_linear_new(2, HIDDEN, 1, MT_DTYPE_F32));
    mt_module_add_child(net, NULL, mt_nn_relu_new());
    mt_module_add_child(net, NULL, mt_nn_dropout_new(0.1, 7));
    mt_module_add_child(net, NULL, mt_nn_linear_new(HIDDEN, HIDDEN, 1, MT_DTYPE_F32));
    mt_module_add_child(net, NULL, mt_nn_relu_new());
    mt_module_add_child(net, NULL, mt_nn_linear_new(HIDDEN, 1, 1, MT_DTYPE_F32));
    mt_module_init(net, 1);
    char *repr = mt_module_repr(net);
    printf("%s\n", repr);
    mt_free(repr);

    mt_module_train(net);
    mt_graph *train_loss = loss_graph(net, "xor");
    mt_module_eval(net);
    mt_graph *eval_loss = loss_graph(net, "xor");
    mt_tensor_map *init = NULL; /* the initial values, by the dotted names of the graph */
    if (!train_loss || !eval_loss || mt_module_state_dict(net, &init, &d) != MT_OK)
        return 1;

    /* MiniTorch's Xor set: 200 points to train on and 200 others (another seed) to test on. */
    mt_dataset *data = NULL, *other = NULL;
    if (mt_dataset_load("xor", 200, 1, &data, &d) != MT_OK ||
        mt_dataset_load("xor", 200, 2, &other, &d) != MT_OK) {
        fprintf(stderr, "%s\n", d.msg);
        return 1;
    }
    if (!adopt(data, "x_test", other->x) || !adopt(data, "y_test", other->y))
        return 1;
    data->x_test = mt_tensor_map_get(data->tensors, "x_test");
    data->y_test = mt_tensor_map_get(data->tensors, "y_test");
    data->n_test = other->n;

    /* Train: Adam, 60 epochs of 20 shuffled batches, on the CPU, and save every param and
     * Adam's state at the end. */
    mt_train_options o;
    mt_train_defaults(&o);
    o.loss = train_loss;
    o.eval_loss = eval_loss;
    o.init = init;
    o.dataset = data;
    o.epochs = 60;
    mt_optim_defaults(&o.optim, MT_OPTIM_ADAM);
    o.optim.lr = 0.02;
    o.seed = 1;
    o.save = checkpoint;
    mt_train_result r;
    if (mt_train_run(&o, &r, &d) != MT_OK) {
        fprintf(stderr, "train: %s\n", d.msg);
        return 1;
    }
    const mt_train_epoch *last = &r.epochs[r.nepochs - 1];
    printf("compiled in %.2f s; after %d epochs: loss %.4f, train accuracy %.3f, test accuracy "
           "%.3f\n",
           r.info.compile_s, r.nepochs, last->loss, last->train_acc, last->test_acc);
    printf("saved %d tensors to %s\n", mt_tensor_map_count(r.params), checkpoint);
    int ok = last->test_acc >= 0.9;

    mt_train_result_fini(&r);
    mt_dataset_free(other);
    mt_dataset_free(data);
    mt_tensor_map_free(init);
    mt_graph_free(eval_loss);
    mt_graph_free(train_loss);
    mt_module_free(net);
    return ok ? 0 : 1;
}
