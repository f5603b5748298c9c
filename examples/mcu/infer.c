/* The inference-only firmware: the digits model compiled into flash, read in place
 * (swann_model_from_buffer), one session in a static arena, the 359 held-out images.
 * Nothing else of swann is called, so --gc-sections leaves only what inference needs:
 * run.sh reports that code as the inference footprint. Exit status 0 when the
 * accuracy is the build machine's to within one image. */
#include <stdint.h>
#include <stdio.h>
#include "swann.h"
#include "digits_data.h"
#include "counter.h"

static _Alignas(64) unsigned char model_mem[8192];
static _Alignas(64) unsigned char session_arena[4096];

int main(void) {
    counter_start();
    swann_model *model = NULL;
    swann_session *session = NULL;
    if (swann_model_from_buffer(model_bytes, MODEL_SIZE, model_mem, sizeof model_mem, &model) != SWANN_OK ||
        swann_session_create(model, 1, session_arena, sizeof session_arena, &session) != SWANN_OK) {
        printf("FAIL infer: %s\n", swann_last_error());
        return 1;
    }
    size_t right = 0;
    double counted = 0;
    for (int i = 0; i < TEST_IMAGES; i++) {
        float x[64], y[10];
        for (int k = 0; k < 64; k++) x[k] = (float)test_pixels[i][k] / 16.0f;
        uint32_t t0 = ticks();
        if (swann_session_run(session, x, 1, y) != SWANN_OK) { printf("FAIL infer: %s\n", swann_last_error()); return 1; }
        counted += instructions(t0, ticks());
        int best = 0;
        for (int k = 1; k < 10; k++) if (y[k] > y[best]) best = k;
        right += best == test_labels[i];
    }
    int ok = right + 1 >= HOST_CORRECT && right <= HOST_CORRECT + 1;
    printf("%s inference-only firmware: digits %zu/%d held out (build machine %d), %.0f instructions an image\n",
           ok ? "ok  " : "FAIL", right, TEST_IMAGES, HOST_CORRECT, counted / TEST_IMAGES);
    swann_session_destroy(session);
    swann_model_destroy(model);
    return ok ? 0 : 1;
}
