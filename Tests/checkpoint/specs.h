/*
 * specs.h -- the network specs the checkpoint tests save and load.
 */
#ifndef CKPT_SPECS_H
#define CKPT_SPECS_H

typedef struct {
    const char *name;
    const char *json;
    enum target_kind kind;
    int trainable; /* loss other than "none" */
    int slots;     /* optimizer state buffers per parameter (momentum: 1, adam: 2 or 3, ...) */
} test_spec;

/* The small net of the corrupt-file corpus: 3 -> 4 relu -> 2 softmax, momentum. */
#define SMALL_SPEC                                                                               \
    "{\"input\":3,\"layers\":[{\"units\":4,\"activation\":\"relu\"},{\"units\":2,\"activation\":" \
    "\"softmax\"}],\"loss\":\"cross_entropy\",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.1,"        \
    "\"momentum\":0.9},\"seed\":3}"
static const size_t SMALL_SIZES[] = {3, 4, 2};
#define SMALL_LAYERS 2

static const test_spec SPECS[] = {
    {"relu-softmax-momentum", SMALL_SPEC, T_ONEHOT, 1, 1},
    {"tanh-sigmoid-identity-plain",
     "{\"input\":5,\"layers\":[{\"units\":7,\"activation\":\"tanh\"},{\"units\":6,\"activation\":\"sigmoid\"},"
     "{\"units\":3,\"activation\":\"identity\"}],\"loss\":\"mse\",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.05},"
     "\"seed\":11}",
     T_REAL, 1, 0},
    {"all-activations-nesterov-wd",
     "{\"input\":4,\"layers\":[{\"units\":8,\"activation\":\"leaky_relu\",\"alpha\":0.2},"
     "{\"units\":8,\"activation\":\"elu\",\"alpha\":0.5},{\"units\":8,\"activation\":\"softplus\"},"
     "{\"units\":8,\"activation\":\"gelu\"},{\"units\":2,\"activation\":\"sigmoid\"}],"
     "\"loss\":\"binary_cross_entropy\",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.2,\"momentum\":0.5,"
     "\"nesterov\":true,\"weight_decay\":0.001},\"init\":\"xavier\",\"seed\":5}",
     T_BINARY, 1, 0 + 1},
    {"dampening-wd-momentum",
     "{\"input\":6,\"layers\":[{\"units\":9,\"activation\":\"relu\"},{\"units\":4,\"activation\":\"softmax\"}],"
     "\"loss\":\"cross_entropy\",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.3,\"momentum\":0.8,"
     "\"dampening\":0.3,\"weight_decay\":0.01},\"seed\":99}",
     T_ONEHOT, 1, 1},
    {"tiny-1x1",
     "{\"input\":1,\"layers\":[{\"units\":1,\"activation\":\"identity\"}],\"loss\":\"mse\",\"init\":\"zeros\"}",
     T_REAL, 1, 0},
    /* every optimizer's state must survive a save and load exactly */
    {"adam-amsgrad-wd",
     "{\"input\":4,\"layers\":[{\"units\":6,\"activation\":\"tanh\"},{\"units\":3,\"activation\":\"softmax\"}],"
     "\"loss\":\"cross_entropy\",\"optimizer\":{\"type\":\"adam\",\"lr\":0.01,\"amsgrad\":true,"
     "\"weight_decay\":0.01},\"seed\":21}",
     T_ONEHOT, 1, 3},
    {"adamw-cosine-warmup",
     "{\"input\":4,\"layers\":[{\"units\":6,\"activation\":\"relu\"},{\"units\":3,\"activation\":\"softmax\"}],"
     "\"loss\":\"cross_entropy\",\"optimizer\":{\"type\":\"adamw\",\"lr\":0.01,\"schedule\":{\"type\":"
     "\"cosine\",\"t_max\":7,\"warmup_steps\":2}},\"seed\":22}",
     T_ONEHOT, 1, 2},
    {"rmsprop-centered-momentum-clip",
     "{\"input\":4,\"layers\":[{\"units\":6,\"activation\":\"elu\"},{\"units\":2,\"activation\":\"identity\"}],"
     "\"loss\":\"mse\",\"optimizer\":{\"type\":\"rmsprop\",\"lr\":0.01,\"momentum\":0.5,\"centered\":true,"
     "\"clip_norm\":0.5},\"seed\":23}",
     T_REAL, 1, 3},
    {"rprop-step-schedule",
     "{\"input\":4,\"layers\":[{\"units\":5,\"activation\":\"sigmoid\"},{\"units\":2,\"activation\":\"sigmoid\"}],"
     "\"loss\":\"binary_cross_entropy\",\"optimizer\":{\"type\":\"rprop\",\"lr\":0.02,\"schedule\":{\"type\":"
     "\"step\",\"step_size\":2,\"gamma\":0.5}},\"seed\":24}",
     T_BINARY, 1, 2},
    {"loss-none",
     "{\"input\":2,\"layers\":[{\"units\":3,\"activation\":\"tanh\"},{\"units\":2,\"activation\":\"identity\"}],"
     "\"loss\":\"none\",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.1,\"momentum\":0.9},\"seed\":1}",
     T_REAL, 0, 1},
};
#define NSPECS ((int)(sizeof SPECS / sizeof SPECS[0]))

#endif
