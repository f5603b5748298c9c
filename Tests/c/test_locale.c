/*
 * test_locale.c -- a host whose locale writes numbers with a decimal comma.
 *
 * JSON numbers always use '.', but strtod and printf follow LC_NUMERIC. A host
 * that calls setlocale(LC_ALL, "de_DE.UTF-8") (or uselocale on one thread) must
 * still get its spec read exactly ("lr": 0.05 is 0.05, not 0 or 0.05 cut at the
 * '.'), a canonical spec and a model file that are valid JSON, and files that
 * load anywhere.
 *
 * The test builds the locale itself with localedef (package locales; tools/setup.sh
 * installs it) into a temporary folder and points LOCPATH at it, so it does not
 * depend on the machine's installed locales. With LOCPATH already set, it uses that.
 */
#include "check.h"

#include <locale.h>

static const char *SPEC =
    "{\"input\": 2, \"layers\": [{\"units\": 3, \"activation\": \"leaky_relu\", \"alpha\": 0.25},"
    " {\"units\": 1, \"activation\": \"identity\"}], \"loss\": \"mse\","
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": 0.05, \"momentum\": 0.9, \"weight_decay\": 1.5e-4}, \"seed\": 5}";

/* 1 when the canonical text has every number of SPEC written with '.', and no
 * decimal comma (a digit, a comma, a digit) anywhere. */
static int canonical_ok(const char *c)
{
    for (const char *p = c; *p; p++)
        if (p > c && *p == ',' && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' && p[1] <= '9') return 0;
    return strstr(c, "\"lr\":0.05") && strstr(c, "\"momentum\":0.9") && strstr(c, "\"alpha\":0.25") &&
           strstr(c, "\"weight_decay\":0.00015");
}

static void round_trip(const char *label)
{
    char what[200];
    swann_net *net = NULL, *back = NULL;
    snprintf(what, sizeof what, "%s: create with fractional numbers", label);
    CHECK_ST(swann_create(SPEC, 2, NULL, 0, &net), SWANN_OK, what);
    if (!net) return;
    char canon[2048];
    size_t need = 0;
    swann_spec_json(net, canon, sizeof canon, &need);
    snprintf(what, sizeof what, "%s: the canonical spec reads the numbers exactly and writes them with '.'", label);
    CHECKF(canonical_ok(canon), what, "got %s", canon);
    swann_net *again = NULL;
    snprintf(what, sizeof what, "%s: the canonical spec creates a net again", label);
    CHECK_ST(swann_create(canon, 2, NULL, 0, &again), SWANN_OK, what);
    swann_destroy(again);

    float x[4] = {0.5f, -1.0f, 0.25f, 2.0f}, t[2] = {1.0f, -1.0f};
    swann_forward(net, x, 2, NULL);
    swann_backward(net, t, NULL, NULL);
    swann_step(net);
    char path[] = "/tmp/swann-locale-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    snprintf(what, sizeof what, "%s: save", label);
    CHECK_ST(swann_save(net, path), SWANN_OK, what);
    snprintf(what, sizeof what, "%s: load", label);
    CHECK_ST(swann_load(path, 2, NULL, 0, &back), SWANN_OK, what);
    if (back) {
        float *p, *q;
        size_t n, m;
        swann_params(net, &p, &n);
        swann_params(back, &q, &m);
        snprintf(what, sizeof what, "%s: loaded parameters equal the saved ones", label);
        CHECK(n == m && memcmp(p, q, n * sizeof *p) == 0, what);
        char canon2[2048];
        swann_spec_json(back, canon2, sizeof canon2, &need);
        snprintf(what, sizeof what, "%s: the loaded spec is the saved one", label);
        CHECKF(strcmp(canon, canon2) == 0, what, "got %s", canon2);
    }
    /* the file's header, read as bytes: numbers with '.' */
    FILE *f = fopen(path, "rb");
    char head[4096] = "";
    if (f) {
        size_t got = fread(head, 1, sizeof head - 1, f);
        head[got] = 0;
        fclose(f);
    }
    snprintf(what, sizeof what, "%s: the model file's header spells lr as 0.05", label);
    CHECK(memmem(head, sizeof head, "\\\"lr\\\":0.05", 11) != NULL, what);
    remove(path);
    swann_destroy(back);
    swann_destroy(net);

    /* an error message with a number in it */
    snprintf(what, sizeof what, "%s: a bad lr is refused with its value in '.' notation", label);
    const char *bad = "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"identity\"}], \"loss\": \"mse\","
                      " \"optimizer\": {\"type\": \"sgd\", \"lr\": 2.5e6}}";
    swann_status st = swann_arena_size(bad, 1, &need);
    CHECKF(st == SWANN_E_SPEC && strstr(swann_last_error(), "is 2.5e+06") != NULL, what, "%s: %s",
           swann_status_name(st), swann_last_error());
}

static void group_setlocale(void)
{
    const char *got = setlocale(LC_ALL, "de_DE.UTF-8");
    CHECKF(got != NULL, "setlocale(LC_ALL, \"de_DE.UTF-8\")", "LOCPATH=%s",
           getenv("LOCPATH") ? getenv("LOCPATH") : "(unset)");
    if (!got) return;
    char probe[16];
    snprintf(probe, sizeof probe, "%.2f", 0.05);
    CHECKF(strcmp(probe, "0,05") == 0, "the host's printf now writes a decimal comma", "got %s", probe);
    round_trip("setlocale de_DE");
    setlocale(LC_ALL, "C");
}

static void group_uselocale(void)
{
    locale_t de = newlocale(LC_ALL_MASK, "de_DE.UTF-8", (locale_t)0);
    CHECK(de != (locale_t)0, "newlocale(de_DE.UTF-8)");
    if (!de) return;
    locale_t old = uselocale(de);
    round_trip("uselocale de_DE on this thread");
    uselocale(old);
    freelocale(de);
}

/* Builds de_DE.UTF-8 under a temporary folder and sets LOCPATH; "" on failure. */
static char LOCDIR[64];

static void build_locale(void)
{
    if (getenv("LOCPATH")) return;
    snprintf(LOCDIR, sizeof LOCDIR, "/tmp/swann-locale-XXXXXX");
    if (!mkdtemp(LOCDIR)) { LOCDIR[0] = 0; return; }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", LOCDIR);
    int rc = system(cmd);
    CHECKF(rc == 0, "localedef builds de_DE.UTF-8 (package locales)", "exit status %d", rc);
    setenv("LOCPATH", LOCDIR, 1);
}

static void remove_locale(void)
{
    if (!LOCDIR[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", LOCDIR);
    if (system(cmd) != 0) printf("# could not remove %s\n", LOCDIR);
}

int main(void)
{
    check_init("test_locale");
    build_locale();
    RUN_GROUP(group_setlocale);
    RUN_GROUP(group_uselocale);
    round_trip("C locale");
    remove_locale();
    return check_finish();
}
