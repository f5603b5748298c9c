/*
 * json_oracle.c -- swann's JSON reader (Sources/Swann/Network/JSON.swift) against json-c.
 *
 * swann parses specs with its own strict RFC 8259 reader; json-c (libjson-c-dev,
 * the parser swann used before) stays on as an oracle. For JSONORACLE_SECONDS
 * (default 20) this program generates JSON-ish texts -- valid specs mutated by
 * byte flips, insertions of JSON punctuation, escapes, UTF-8 fragments and number
 * forms, deletions, splices, truncation, deep nesting, and random JSON values
 * embedded as extra members -- and asks both parsers about each:
 *
 *   json-c   json_tokener_new_ex(JC_DEPTH), JSON_TOKENER_STRICT |
 *            JSON_TOKENER_VALIDATE_UTF8, the whole text plus its NUL terminator
 *            (json-c needs a byte after a top-level number to finish it), and
 *            only JSON whitespace after the value.
 *   swann    swann_arena_size(text, 4, &bytes). A JSON-level refusal is status
 *            SWANN_E_SPEC with the message "spec: <problem> at offset N[: detail]"
 *            (the problem texts of JSONDocument.Problem); every other outcome is
 *            a text the reader accepted: SWANN_OK, or a semantic refusal whose
 *            message names the spec's part ("spec: \"input\" ...", "spec: layers[",
 *            "spec: optimizer", "spec: must be a JSON object", "spec: more than ")
 *            or the arena limit ("arena: ", SWANN_E_ARG). Any other message fails.
 *
 * The texts are C strings (swann_arena_size takes one), so a generated NUL byte
 * ends the text for both parsers.
 *
 * Rules (each violation is a FAIL, printed with a minimised input):
 *   - json-c refuses          => swann refuses at the JSON level. No exceptions.
 *   - swann accepts           => json-c accepts (the same rule, turned round).
 *   - swann refuses, json-c accepts => one of these, each checked against the
 *     text at swann's offset:
 *       swann's documented extra refusals (docs: JSON.swift's header comment)
 *         dup-key     a key twice in one object (json-c keeps the last)
 *         nul-escape  "\u0000" (swann hands strings on as C strings)
 *         surrogate   an unpaired surrogate escape (json-c writes U+FFFD)
 *         depth       a container nested 65 deep
 *         values      more than 65 536 values (parseSpec's maxValues)
 *       json-c 0.16 strict-mode leniencies (RFC 8259 refuses these texts)
 *         jc-control  a raw U+0000..U+001F byte inside a string (RFC 8259 s7);
 *                     strict mode only checks the grammar outside strings
 *         jc-utf8     JSON_TOKENER_VALIDATE_UTF8 checks only the shape (a lead
 *                     byte C0..F7 and its continuation bytes): it passes
 *                     overlongs (C0 80, E0 80 80, F0 80 80 80), UTF-16
 *                     surrogates (ED A0 80) and code points above U+10FFFF
 *                     (F4 90 80 80, F5..F7 leads); RFC 3629 refuses them
 *         jc-nonfinite  NaN, Infinity, -Infinity
 *         jc-number   "1." and "1.e5" (no digit after the point), "-.5" (no
 *                     digit before it), and a leading zero at the top level
 *                     ("00", "-01"; json-c refuses "01" and "[01]")
 *         jc-quote    a single-quoted object key ({'a': 1}); json-c refuses
 *                     single quotes everywhere else in strict mode
 *   - swann never reports an offset beyond the text, and nothing crashes.
 *   - Values: when both accept and swann takes the text as a spec (SWANN_OK, an
 *     arena up to 1 MiB), the net's canonical spec (swann_spec_json, read back
 *     with json-c) holds every member of the text as json-c read it: the same
 *     strings (escapes and UTF-8 decoded), booleans and numbers (as doubles, so
 *     -0.0 == 0 and 1 == 1.0). Members the canonical spec leaves out by design:
 *     "threads": 1, "clip_norm": 0, "warmup_steps": 0 (and then its
 *     "warmup_start_factor"), a constant "schedule" without warmup. Integer literals
 *     beyond int64 are not compared (json-c saturates them at INT64_MIN or
 *     UINT64_MAX): a directed case checks swann reads one as a double.
 *
 * Depth. swann allows 64 levels of containers: a container at level 65 is
 * refused, a scalar inside a level-64 container is fine. json-c's max_depth
 * counts every value, scalars too: json_tokener_new_ex(64) already refuses
 * 64 arrays around a number, which swann (rightly, by its contract) accepts.
 * So json-c runs with JC_DEPTH 65, the smallest depth that accepts every text
 * swann accepts; what json-c(65) then accepts beyond swann (a 65th empty
 * container) is swann's "depth" refusal above.
 *
 * Ends with "# json_oracle: P passed, F failed" (check.h); the category counts
 * and the exec/s are "# " lines. Environment: JSONORACLE_SECONDS (20),
 * JSONORACLE_SEED (default: from the clock; printed). The run does at least
 * MIN_CASES cases however long they take (a busy machine only makes it
 * slower), then goes on until the seconds are up: no verdict depends on speed.
 */
#include "check.h"

#include <json-c/json.h>
#include <time.h>

#define JC_DEPTH 65
#define MIN_CASES 20000
#define MAXTEXT (1 << 15)
#define MAX_VALUES 65536

/* ---- the two verdicts ------------------------------------------------------------ */

static const char *PROBLEMS[] = {
    "invalid JSON",
    "unexpected text after the JSON value",
    "a raw control character inside a string",
    "\\u0000 inside a string",
    "a single-quoted string",
    "a key that appears twice in one object",
    "out of memory while parsing",
    "nesting deeper than 64 levels",
    "invalid UTF-8",
    "an invalid escape sequence",
    "too many JSON values",
};
enum {
    P_SYNTAX, P_TRAILING, P_CONTROL, P_NUL, P_QUOTE, P_DUP, P_NOMEM, P_DEPTH, P_UTF8, P_ESCAPE, P_VALUES,
    NPROBLEMS
};

/* Messages of a text the JSON reader accepted (semantic refusals). */
static const char *SEMANTIC[] = {
    "spec: \"", "spec: layers[", "spec: optimizer", "spec: must be a JSON object", "spec: more than ", "arena: ",
};

struct swv {
    swann_status st;
    size_t bytes;     /* swann_arena_size's answer, when SWANN_OK */
    int json_ok;      /* 1: the reader accepted the text; 0: a JSON-level refusal; -1: unclassified */
    int problem;      /* P_*, when json_ok == 0 */
    long offset;
    const char *detail; /* points into msg */
    char msg[400];
};

static void swann_verdict(const char *s, struct swv *v)
{
    size_t bytes = 0;
    v->st = swann_arena_size(s, 4, &bytes);
    v->bytes = bytes;
    v->problem = -1;
    v->offset = -1;
    v->detail = "";
    v->msg[0] = 0;
    if (v->st == SWANN_OK) {
        v->json_ok = 1;
        return;
    }
    const char *m = swann_last_error();
    snprintf(v->msg, sizeof v->msg, "%s", m ? m : "(NULL)");
    v->json_ok = -1;
    if (strncmp(v->msg, "spec: ", 6) == 0) {
        for (int p = 0; p < NPROBLEMS; p++) {
            size_t len = strlen(PROBLEMS[p]);
            if (strncmp(v->msg + 6, PROBLEMS[p], len) != 0 || strncmp(v->msg + 6 + len, " at offset ", 11) != 0)
                continue;
            char *end = NULL;
            const char *num = v->msg + 6 + len + 11;
            long off = strtol(num, &end, 10);
            if (end == num || (*end != 0 && strncmp(end, ": ", 2) != 0)) break;
            v->problem = p;
            v->offset = off;
            v->detail = *end ? end + 2 : "";
            /* out of memory is SWANN_E_NOMEM, every other problem SWANN_E_SPEC */
            if (v->st == (p == P_NOMEM ? SWANN_E_NOMEM : SWANN_E_SPEC)) v->json_ok = 0;
            return;
        }
    }
    for (size_t k = 0; k < sizeof SEMANTIC / sizeof *SEMANTIC; k++)
        if (strncmp(v->msg, SEMANTIC[k], strlen(SEMANTIC[k])) == 0 &&
            (v->st == SWANN_E_SPEC || (v->st == SWANN_E_ARG && k == 5))) {
            v->json_ok = 1;
            return;
        }
}

struct jcv {
    int ok;
    enum json_tokener_error err;
    size_t end;
    int trailing; /* parsed a value, then found more than whitespace */
};

static int json_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void jsonc_verdict(const char *s, size_t n, struct jcv *v)
{
    struct json_tokener *tok = json_tokener_new_ex(JC_DEPTH);
    if (!tok) {
        fprintf(stderr, "json_tokener_new_ex failed\n");
        abort();
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    /* n + 1: the terminating NUL ends a top-level number ("1" alone is "continue") */
    json_object *o = json_tokener_parse_ex(tok, s, (int)n + 1);
    v->err = json_tokener_get_error(tok);
    v->end = json_tokener_get_parse_end(tok);
    v->ok = v->err == json_tokener_success; /* o is NULL for a top-level null */
    v->trailing = 0;
    if (v->ok) {
        for (size_t i = v->end; i < n; i++)
            if (!json_ws((unsigned char)s[i])) {
                v->ok = 0;
                v->trailing = 1;
                break;
            }
    }
    json_object_put(o);
    json_tokener_free(tok);
}

/* ---- outcomes ------------------------------------------------------------------------ */

enum outcome {
    O_BOTH_OK,         /* both accept; swann_arena_size succeeded */
    O_BOTH_SEMANTIC,   /* both accept; swann refused the spec's content */
    O_BOTH_REJECT,     /* both refuse */
    O_X_DUP, O_X_NUL, O_X_SURROGATE, O_X_DEPTH, O_X_VALUES,          /* swann's extra refusals */
    O_Q_CONTROL, O_Q_UTF8, O_Q_NONFINITE, O_Q_NUMBER, O_Q_QUOTE,      /* json-c's leniencies */
    O_BAD_JC_REJECTS,  /* json-c refuses, swann's reader accepts */
    O_BAD_SW_REJECTS,  /* swann refuses, json-c accepts, and no rule explains it */
    O_BAD_MESSAGE,     /* swann's message fits neither pattern */
    O_BAD_OFFSET,      /* swann's offset lies outside the text */
    NOUTCOMES
};
static const char *OUTCOME_NAMES[] = {
    "both accept, spec ok", "both accept, spec refused", "both refuse",
    "swann extra: duplicate key", "swann extra: \\u0000", "swann extra: unpaired surrogate escape",
    "swann extra: container at depth 65", "swann extra: more than 65536 values",
    "json-c lenient: raw control character in a string", "json-c lenient: shape-only UTF-8 check",
    "json-c lenient: NaN/Infinity", "json-c lenient: number form (1. / -.5 / leading zero)",
    "json-c lenient: single-quoted key",
    "MISMATCH: json-c refuses, swann accepts", "MISMATCH: swann refuses, json-c accepts (unexplained)",
    "MISMATCH: unclassified swann message", "MISMATCH: swann offset outside the text",
};
#define FIRST_BAD O_BAD_JC_REJECTS

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* \uXXXX at s (n bytes left): the code unit, or -1 */
static long u_escape(const unsigned char *s, size_t n)
{
    if (n < 6 || s[0] != '\\' || s[1] != 'u') return -1;
    long v = 0;
    for (int k = 2; k < 6; k++) {
        int h = hexval(s[k]);
        if (h < 0) return -1;
        v = v << 4 | h;
    }
    return v;
}

/* Nesting depth (open containers, strings skipped) just before byte `at`. */
static int depth_at(const unsigned char *s, size_t at)
{
    int d = 0, in_str = 0;
    for (size_t i = 0; i < at; i++) {
        unsigned char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            d++;
        } else if (c == ']' || c == '}') {
            d--;
        }
    }
    return d;
}

/* json-c's UTF-8 check: lead byte C0..DF, E0..EF, F0..F7 and that many continuations. */
static int jc_utf8_shape(const unsigned char *s, size_t n)
{
    int more;
    if (s[0] >= 0xc0 && s[0] <= 0xdf) more = 1;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) more = 2;
    else if (s[0] >= 0xf0 && s[0] <= 0xf7) more = 3;
    else return 0;
    if ((size_t)more >= n) return 0;
    for (int k = 1; k <= more; k++)
        if ((s[k] & 0xc0) != 0x80) return 0;
    return 1;
}

/* Is the number ending just before `at` exactly "0" or "-0" (a leading zero)? */
static int leading_zero_before(const unsigned char *s, size_t at)
{
    if (at == 0 || s[at - 1] != '0' || !(s[at] >= '0' && s[at] <= '9')) return 0;
    size_t b = at - 1;
    if (b > 0 && s[b - 1] == '-') b--;
    if (b == 0) return 1;
    unsigned char p = s[b - 1];
    return !((p >= '0' && p <= '9') || p == '.' || p == 'e' || p == 'E' || p == '+' || p == '-');
}

static enum outcome classify(const char *text, size_t n, struct swv *sw, struct jcv *jc)
{
    const unsigned char *s = (const unsigned char *)text;
    swann_verdict(text, sw);
    jsonc_verdict(text, n, jc);
    if (sw->json_ok < 0) return O_BAD_MESSAGE;
    if (sw->json_ok == 0 && (sw->offset < 0 || (size_t)sw->offset > n)) return O_BAD_OFFSET;
    if (sw->json_ok == 1) {
        if (!jc->ok) return O_BAD_JC_REJECTS;
        return sw->st == SWANN_OK ? O_BOTH_OK : O_BOTH_SEMANTIC;
    }
    if (!jc->ok) return O_BOTH_REJECT;
    /* swann refuses, json-c accepts: which rule? */
    size_t off = (size_t)sw->offset, left = n - off;
    switch (sw->problem) {
    case P_DUP:
        if (left > 0 && s[off] == '{') return O_X_DUP;
        break;
    case P_NUL:
        if (u_escape(s + off, left) == 0) return O_X_NUL;
        break;
    case P_ESCAPE: {
        long u = u_escape(s + off, left);
        if (u >= 0xd800 && u <= 0xdfff) return O_X_SURROGATE;
        break;
    }
    case P_DEPTH:
        if (left > 0 && (s[off] == '[' || s[off] == '{') && depth_at(s, off) == 64) return O_X_DEPTH;
        break;
    case P_VALUES:
        return O_X_VALUES;
    case P_QUOTE:
        if (left > 0 && s[off] == '\'') return O_Q_QUOTE;
        break;
    case P_CONTROL:
        if (left > 0 && s[off] < 0x20) return O_Q_CONTROL;
        break;
    case P_UTF8:
        if (left > 0 && jc_utf8_shape(s + off, left)) return O_Q_UTF8;
        break;
    case P_SYNTAX:
    case P_TRAILING:
        if (!strncmp((const char *)s + off, "NaN", 3) || !strncmp((const char *)s + off, "Infinity", 8))
            return O_Q_NONFINITE;
        if (off > 0 && s[off - 1] == '.' && !strcmp(sw->detail, "a number needs a digit after '.'"))
            return O_Q_NUMBER;
        if (off > 0 && s[off - 1] == '-' && s[off] == '.' && !strcmp(sw->detail, "a number needs a digit here"))
            return O_Q_NUMBER;
        if (leading_zero_before(s, off)) return O_Q_NUMBER;
        break;
    default:
        break;
    }
    return O_BAD_SW_REJECTS;
}

/* ---- texts ------------------------------------------------------------------------------ */

static const char *SEEDS[] = {
    "{\"input\": 4, \"layers\": [{\"units\": 3, \"activation\": \"relu\"}], \"loss\": \"mse\"}",
    "{\"input\": 2, \"layers\": [{\"units\": 3, \"activation\": \"tanh\"}, {\"units\": 1, \"activation\": \"identity\"}],"
    " \"loss\": \"mse\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001, \"beta1\": 0.8, \"beta2\": 0.99, \"eps\": 1e-7,"
    " \"weight_decay\": 0.0, \"amsgrad\": true, \"clip_norm\": 5.0, \"schedule\": {\"type\": \"step\", \"step_size\": 10,"
    " \"gamma\": 0.5, \"warmup_steps\": 3, \"warmup_start_factor\": 0.1}}, \"seed\": 0}",
    "{\"input\": 16777216, \"layers\": [{\"units\": 1, \"activation\": \"tanh\"}], \"loss\": \"mse\","
    " \"optimizer\": {\"type\": \"sgd\", \"lr\": 1e6}, \"seed\": 18446744073709551615}",
    "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"sigmoid\"}], \"loss\": \"mse\", \"optimizer\":"
    " {\"type\": \"rprop\", \"lr\": 0.01, \"eta_minus\": 0.5, \"eta_plus\": 1.2, \"step_min\": 1e-6, \"step_max\": 50,"
    " \"schedule\": {\"type\": \"constant\", \"warmup_steps\": 2}}}",
    "{\"input\":6,\"layers\":[{\"units\":7,\"activation\":\"leaky_relu\",\"alpha\":-0.0},{\"units\":4,"
    "\"activation\":\"softmax\"}],\"loss\":\"cross_entropy\",\"optimizer\":{\"type\":\"rmsprop\",\"lr\":1E-2,"
    "\"centered\":false,\"momentum\":0.9},\"init\":\"he\",\"threads\":2}",
    "{ \"input\" : 3 ,\n\t\"layers\" : [ { \"units\" : 2 , \"activation\" : \"elu\" , \"alpha\" : 1.5e0 } ] ,\r\n"
    " \"loss\" : \"none\" , \"optimizer\" : { \"type\" : \"adamw\" , \"schedule\" : { \"type\" : \"cosine\" ,"
    " \"t_max\" : 50 , \"eta_min\" : 0 } } }",
    "{\"in\\u0070ut\": 5, \"layers\": [{\"units\": 2, \"activation\": \"s\\u006fftplus\"}, {\"activation\": \"gelu\","
    " \"units\": 1}], \"loss\": \"binary_cross_entropy\", \"optimizer\": {\"type\": \"sgd\", \"momentum\": 0.5,"
    " \"nesterov\": true, \"dampening\": 0}}",
    "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"relu\"}], \"loss\": \"mse\", \"x\": [null, true, false,"
    " -0.5e-3, \"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\", {\"a\": {\"a\": []}},"
    " {}, [[]]]}",
};
#define NSEEDS (sizeof SEEDS / sizeof *SEEDS)

static const char *TOKENS[] = {
    "{", "}", "[", "]", ":", ",", "\"", "\\", "\\u", "\\u0000", "\\ud800", "\\udc00", "\\uDBFF", "\\uDFFF",
    "\\ud83d\\ude00", "\\ud800\\u0041", "\\udc00\\ud800", "\\uDBFF\\uDFFF", "\\u00e9", "\\u12", "\\u12G4", "\\x",
    "\\'", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\\"", "\\\\", "\\U0041", "\\0", "'", "'a'",
    "true", "false", "null", "NaN", "Infinity", "-Infinity", "nan", "inf", "TRUE", "nul", "tru",
    "0", "-0", "01", "-01", "00", "1.", "-1.", "1.e5", ".5", "+1", "-", "--1", "1e", "1e+", "1E-5", "1e05",
    "1.5e308", "1e309", "-1e400", "1e-400", "4.9e-324", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "18446744073709551616", "0.1", "1e-7", "0x10",
    "123456789012345678901234567890", "1_000", " ", "\t", "\n", "\r", "\f", "\v", "\x01", "\x1f", "\x7f",
    "\xc2\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbf", "\xc0\x80", "\xc1\xbf",
    "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
    "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80", "\xff", "\xfe", "\x80",
    "\xbf", "\xc2", "\xe2\x82", "\xf0\x9f\x98", "\xef\xbb\xbf", "/*", "*/", "//", "#", "\"a\":1", ",\"a\":1",
    "\"input\"", "\"layers\"", "[]", "{}", "[1,]", "{\"a\":1,}", "\"\"", ",,", "::",
};
#define NTOKENS (sizeof TOKENS / sizeof *TOKENS)

static const unsigned char INTERESTING[] = {
    '"', '\\', '{', '}', '[', ']', ':', ',', '0', '1', '9', '-', '+', '.', 'e', 'E', ' ', '\t', '\n', '\r',
    0x0c, 0x0b, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x01, 0x1f, '\'',
    'u', 'n', 't', 'f', '/', 'a', 'D', 'N', 'I', 0,
};

struct buf {
    char b[MAXTEXT + 1];
    size_t n;
};

static uint64_t rs;
static uint64_t rnd(uint64_t k) { return k ? rng_next(&rs) % k : 0; }
static int chance(int percent) { return (int)rnd(100) < percent; }

static void put(struct buf *t, const char *s, size_t len)
{
    if (t->n + len > MAXTEXT) len = MAXTEXT - t->n;
    memcpy(t->b + t->n, s, len);
    t->n += len;
    t->b[t->n] = 0;
}
static void puts_(struct buf *t, const char *s) { put(t, s, strlen(s)); }
static void putc_(struct buf *t, char c) { put(t, &c, 1); }

static void insert_at(struct buf *t, size_t at, const char *s, size_t len)
{
    if (at > t->n) at = t->n;
    if (t->n + len > MAXTEXT) return;
    memmove(t->b + at + len, t->b + at, t->n - at);
    memcpy(t->b + at, s, len);
    t->n += len;
    t->b[t->n] = 0;
}

static void gen_number(struct buf *t)
{
    char tmp[64];
    int k = 0;
    if (chance(30)) tmp[k++] = '-';
    if (chance(25)) {
        tmp[k++] = '0';
    } else {
        int digits = chance(10) ? 19 + (int)rnd(4) : 1 + (int)rnd(6);
        tmp[k++] = (char)('1' + rnd(9));
        for (int i = 1; i < digits; i++) tmp[k++] = (char)('0' + rnd(10));
    }
    if (chance(35)) {
        tmp[k++] = '.';
        int d = 1 + (int)rnd(8);
        for (int i = 0; i < d; i++) tmp[k++] = (char)('0' + rnd(10));
    }
    if (chance(25)) {
        tmp[k++] = chance(50) ? 'e' : 'E';
        if (chance(60)) tmp[k++] = chance(50) ? '+' : '-';
        int d = chance(10) ? 3 : 1 + (int)rnd(2);
        for (int i = 0; i < d; i++) tmp[k++] = (char)('0' + rnd(10));
    }
    put(t, tmp, (size_t)k);
}

static void put_utf8(struct buf *t, uint32_t u)
{
    char c[4];
    int k = 0;
    if (u < 0x80) {
        c[k++] = (char)u;
    } else if (u < 0x800) {
        c[k++] = (char)(0xc0 | (u >> 6));
        c[k++] = (char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
        c[k++] = (char)(0xe0 | (u >> 12));
        c[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
        c[k++] = (char)(0x80 | (u & 0x3f));
    } else {
        c[k++] = (char)(0xf0 | (u >> 18));
        c[k++] = (char)(0x80 | ((u >> 12) & 0x3f));
        c[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
        c[k++] = (char)(0x80 | (u & 0x3f));
    }
    put(t, c, (size_t)k);
}

static uint32_t random_scalar(void)
{
    for (;;) {
        uint32_t u;
        switch (rnd(4)) {
        case 0: u = 0x20 + (uint32_t)rnd(0x60); break;
        case 1: u = 0x80 + (uint32_t)rnd(0x780); break;
        case 2: u = 0x800 + (uint32_t)rnd(0xf800); break;
        default: u = 0x10000 + (uint32_t)rnd(0x100000); break;
        }
        if (u >= 0xd800 && u <= 0xdfff) continue;
        if (u == '"' || u == '\\' || u == 0x7f) continue;
        return u;
    }
}

/* A JSON string; `rare` allows swann's extra refusals (\u0000, lone surrogates). */
static void gen_string(struct buf *t, int rare, const char *forced)
{
    char tmp[16];
    putc_(t, '"');
    if (forced) {
        puts_(t, forced);
    } else {
        int pieces = (int)rnd(8);
        for (int i = 0; i < pieces; i++) {
            switch (rnd(6)) {
            case 0: putc_(t, (char)('a' + rnd(26))); break;
            case 1: put_utf8(t, random_scalar()); break;
            case 2: {
                static const char *E[] = {"\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"};
                puts_(t, E[rnd(8)]);
                break;
            }
            case 3: {
                uint32_t u = random_scalar();
                if (u >= 0x10000) {
                    uint32_t v = u - 0x10000;
                    snprintf(tmp, sizeof tmp, chance(50) ? "\\u%04x\\u%04x" : "\\u%04X\\u%04X",
                             0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
                } else {
                    snprintf(tmp, sizeof tmp, chance(50) ? "\\u%04x" : "\\u%04X", u);
                }
                puts_(t, tmp);
                break;
            }
            case 4:
                if (rare && chance(10)) {
                    static const char *R[] = {"\\u0000", "\\ud800", "\\udfff", "\\ud800x", "\\udc00\\ud800"};
                    puts_(t, R[rnd(5)]);
                } else {
                    snprintf(tmp, sizeof tmp, "\\u%04x", 1 + (unsigned)rnd(0x1f));
                    puts_(t, tmp);
                }
                break;
            default: putc_(t, ' '); break;
            }
        }
    }
    putc_(t, '"');
}

static void gen_value(struct buf *t, int depth, int rare)
{
    if (t->n > MAXTEXT - 64) {
        puts_(t, "0");
        return;
    }
    int k = (int)rnd(depth > 0 ? 8 : 5);
    switch (k) {
    case 0: puts_(t, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false"); break;
    case 1:
    case 2: gen_number(t); break;
    case 3:
    case 4: gen_string(t, rare, NULL); break;
    case 5: {
        int m = (int)rnd(5);
        putc_(t, '[');
        for (int i = 0; i < m; i++) {
            if (i) puts_(t, chance(20) ? " , " : ",");
            gen_value(t, depth - 1, rare);
        }
        putc_(t, ']');
        break;
    }
    default: {
        int m = (int)rnd(5);
        char keys[5][8];
        putc_(t, '{');
        for (int i = 0; i < m; i++) {
            if (i) putc_(t, ',');
            if (chance(20)) putc_(t, ' ');
            /* short keys from a small alphabet: the same key in sibling and nested objects is common;
               in one object, twice only with `rare` */
            for (;;) {
                snprintf(keys[i], sizeof keys[i], "%c%s", (char)('a' + rnd(3)), chance(30) ? "\\u0062" : "");
                int dup = 0;
                for (int j = 0; j < i; j++) dup |= strcmp(keys[i], keys[j]) == 0;
                if (!dup || (rare && chance(30))) break;
            }
            gen_string(t, 0, keys[i]);
            puts_(t, chance(20) ? " : " : ":");
            gen_value(t, depth - 1, rare);
        }
        putc_(t, '}');
        break;
    }
    }
}

/* A nest of `d` containers around a scalar or an empty container, as a member value. */
static void gen_nest(struct buf *t, int d, int inner_empty)
{
    int objs = chance(30);
    for (int i = 0; i < d; i++) puts_(t, objs && (i & 1) ? "{\"a\":" : "[");
    if (inner_empty) puts_(t, chance(50) ? "[]" : "{}");
    else puts_(t, "1");
    for (int i = d - 1; i >= 0; i--) putc_(t, objs && (i & 1) ? '}' : ']');
}

/* The pool of texts both parsers accepted: mutations build on them. */
#define POOL 128
static struct buf *pool;
static int pool_n;

static void mutate(struct buf *t)
{
    size_t n = t->n;
    switch (rnd(12)) {
    case 11: { /* single quotes around a key: "k": -> 'k': */
        if (!n) break;
        size_t a = rnd(n);
        while (a < n && t->b[a] != '"') a++;
        size_t b = a + 1;
        while (b < n && t->b[b] != '"') b++;
        if (b >= n) break;
        t->b[a] = t->b[b] = '\'';
        break;
    }
    case 0: /* flip a byte */
        if (n) t->b[rnd(n)] = chance(60) ? (char)INTERESTING[rnd(sizeof INTERESTING)] : (char)(1 + rnd(255));
        break;
    case 1:
    case 2: { /* insert a token */
        const char *tok = TOKENS[rnd(NTOKENS)];
        insert_at(t, rnd(n + 1), tok, strlen(tok));
        break;
    }
    case 3: { /* delete a range */
        if (!n) break;
        size_t at = rnd(n), len = 1 + rnd(chance(80) ? 4 : 40);
        if (at + len > n) len = n - at;
        memmove(t->b + at, t->b + at + len, n - at - len);
        t->n -= len;
        t->b[t->n] = 0;
        break;
    }
    case 4: { /* splice in a piece of another text */
        const char *src = pool_n && chance(50) ? pool[rnd((uint64_t)pool_n)].b : SEEDS[rnd(NSEEDS)];
        size_t sn = strlen(src);
        if (!sn) break;
        size_t a = rnd(sn), len = 1 + rnd(sn - a);
        if (len > 200) len = 200;
        if (chance(50) && n) { /* replace a range */
            size_t at = rnd(n), cut = 1 + rnd(n - at);
            memmove(t->b + at, t->b + at + cut, n - at - cut);
            t->n -= cut;
            t->b[t->n] = 0;
        }
        insert_at(t, rnd(t->n + 1), src + a, len);
        break;
    }
    case 5: { /* duplicate a range of the text itself */
        if (!n) break;
        size_t a = rnd(n), len = 1 + rnd(n - a);
        if (len > 300) len = 300;
        char tmp[300];
        memcpy(tmp, t->b + a, len);
        insert_at(t, rnd(n + 1), tmp, len);
        break;
    }
    case 6: { /* truncate */
        if (n) {
            t->n = rnd(n);
            t->b[t->n] = 0;
        }
        break;
    }
    case 7:
    case 8: { /* a random value (or a nest) as a new first member */
        if (!n || t->b[0] != '{') break;
        static struct buf m;
        m.n = 0;
        m.b[0] = 0;
        int dup = chance(5);
        gen_string(&m, 0, dup ? "input" : chance(50) ? "x" : "input2");
        putc_(&m, ':');
        if (chance(15)) gen_nest(&m, 61 + (int)rnd(6), chance(50));
        else gen_value(&m, 1 + (int)rnd(5), chance(30));
        putc_(&m, chance(95) ? ',' : ' ');
        insert_at(t, 1, m.b, m.n);
        break;
    }
    case 9: { /* replace a number with another number form */
        if (!n) break;
        size_t at = rnd(n);
        while (at < n && !(t->b[at] >= '0' && t->b[at] <= '9')) at++;
        if (at >= n) break;
        size_t end = at;
        while (end < n && strchr("0123456789.eE+-", t->b[end])) end++;
        memmove(t->b + at, t->b + end, n - end);
        t->n -= end - at;
        t->b[t->n] = 0;
        static struct buf m;
        m.n = 0;
        m.b[0] = 0;
        if (chance(70)) gen_number(&m);
        else puts_(&m, TOKENS[rnd(NTOKENS)]);
        insert_at(t, at, m.b, m.n);
        break;
    }
    default: { /* wrap the whole text in containers */
        int d = chance(50) ? 1 + (int)rnd(3) : 60 + (int)rnd(7);
        if ((size_t)(2 * d) + n > MAXTEXT) break;
        memmove(t->b + d, t->b, n);
        memset(t->b, '[', (size_t)d);
        memset(t->b + d + n, ']', (size_t)d);
        t->n = n + 2 * (size_t)d;
        t->b[t->n] = 0;
        break;
    }
    }
    t->n = strlen(t->b); /* a NUL byte ends the text for both parsers */
}

/* ---- reporting ---------------------------------------------------------------------------- */

static void show(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') out[k++] = (char)c;
        else k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
    }
    if (k + 8 >= cap && n) k += (size_t)snprintf(out + k, cap - k, "...");
    out[k] = 0;
}

/* Shrinks a text while it keeps its outcome (greedy chunk removal). */
static size_t minimise(char *s, size_t n, enum outcome want)
{
    struct swv sw;
    struct jcv jc;
    char *tmp = malloc(n + 1);
    if (!tmp) return n;
    for (size_t chunk = n / 2 ? n / 2 : 1; chunk >= 1; chunk /= 2) {
        for (size_t at = 0; at + chunk <= n;) {
            memcpy(tmp, s, at);
            memcpy(tmp + at, s + at + chunk, n - at - chunk);
            tmp[n - chunk] = 0;
            if (classify(tmp, n - chunk, &sw, &jc) == want) {
                n -= chunk;
                memcpy(s, tmp, n + 1);
            } else {
                at++;
            }
        }
        if (chunk == 1) break;
    }
    free(tmp);
    return n;
}

static long counts[NOUTCOMES];
static long problem_counts[NPROBLEMS];
static long shown[NOUTCOMES];

static void report_bad(const char *text, size_t n, enum outcome o)
{
    if (shown[o]++ >= 5) return;
    char *m = malloc(n + 1);
    if (!m) return;
    memcpy(m, text, n + 1);
    size_t mn = minimise(m, n, o);
    struct swv sw;
    struct jcv jc;
    classify(m, mn, &sw, &jc);
    static char a[1200], b[1200];
    show(text, n, a, 600);
    show(m, mn, b, sizeof b);
    CHECKF(0, OUTCOME_NAMES[o], "minimal input \"%s\": swann %s \"%s\"; json-c %s (%s, end %zu); original \"%s\"", b,
           swann_status_name(sw.st), sw.msg, jc.ok ? "accepts" : "refuses",
           jc.trailing ? "trailing text" : json_tokener_error_desc(jc.err), jc.end, a);
    free(m);
}

/* ---- values: the canonical spec against json-c's reading of the text ------------------------- */

static long values_checked, values_skipped, values_bigint, values_bad;

static int is_number(json_object *o)
{
    return json_object_is_type(o, json_type_int) || json_object_is_type(o, json_type_double);
}

/* Does `canon` hold everything `orig` says? 0 and a reason in `why` when not. */
static int holds(json_object *orig, json_object *canon, const char *path, char *why, size_t cap)
{
    char sub[256];
    switch (json_object_get_type(orig)) {
    case json_type_int: {
        int64_t i = json_object_get_int64(orig);
        if (i == INT64_MAX || i == INT64_MIN || json_object_get_uint64(orig) > (uint64_t)INT64_MAX) {
            values_bigint++;
            return 1;
        }
        if (is_number(canon) && json_object_get_double(canon) == (double)i) return 1;
        snprintf(why, cap, "%s: the text says %lld, the canonical spec %s", path, (long long)i,
                 json_object_to_json_string(canon));
        return 0;
    }
    case json_type_double: {
        double d = json_object_get_double(orig);
        if (is_number(canon) && json_object_get_double(canon) == d) return 1;
        snprintf(why, cap, "%s: the text says %.17g, the canonical spec %s", path, d, json_object_to_json_string(canon));
        return 0;
    }
    case json_type_string:
        if (json_object_is_type(canon, json_type_string) &&
            strcmp(json_object_get_string(orig), json_object_get_string(canon)) == 0)
            return 1;
        snprintf(why, cap, "%s: the text says %s, the canonical spec %s", path, json_object_to_json_string(orig),
                 json_object_to_json_string(canon));
        return 0;
    case json_type_boolean:
        if (json_object_is_type(canon, json_type_boolean) &&
            json_object_get_boolean(orig) == json_object_get_boolean(canon))
            return 1;
        snprintf(why, cap, "%s: booleans differ", path);
        return 0;
    case json_type_array: {
        size_t n = json_object_array_length(orig);
        if (!json_object_is_type(canon, json_type_array) || json_object_array_length(canon) != n) {
            snprintf(why, cap, "%s: arrays differ in length", path);
            return 0;
        }
        for (size_t k = 0; k < n; k++) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, k);
            if (!holds(json_object_array_get_idx(orig, k), json_object_array_get_idx(canon, k), sub, why, cap))
                return 0;
        }
        return 1;
    }
    case json_type_object: {
        if (!json_object_is_type(canon, json_type_object)) {
            snprintf(why, cap, "%s: not an object in the canonical spec", path);
            return 0;
        }
        json_object_object_foreach(orig, key, val) {
            json_object *c = NULL;
            snprintf(sub, sizeof sub, "%s.%s", path, key);
            if (!json_object_object_get_ex(canon, key, &c)) {
                /* what the canonical spec leaves out: the defaults that change nothing */
                double d = is_number(val) ? json_object_get_double(val) : -1;
                if (!strcmp(key, "schedule") || (!strcmp(key, "threads") && d == 1) ||
                    (!strcmp(key, "clip_norm") && d == 0) || (!strcmp(key, "warmup_steps") && d == 0) ||
                    (!strcmp(key, "warmup_start_factor") && !json_object_object_get_ex(canon, "warmup_steps", NULL)))
                    continue;
                snprintf(why, cap, "%s: missing from the canonical spec", sub);
                return 0;
            }
            if (!holds(val, c, sub, why, cap)) return 0;
        }
        return 1;
    }
    default:
        snprintf(why, cap, "%s: unexpected type %s", path, json_type_to_name(json_object_get_type(orig)));
        return 0;
    }
}

/* 1: the values agree (or the check was skipped); 0: they do not, `why` says how. */
static int values_agree(const char *text, size_t n, const struct swv *sw, char *why, size_t cap)
{
    if (sw->st != SWANN_OK || sw->bytes > (1u << 20)) {
        values_skipped++;
        return 1;
    }
    struct json_tokener *tok = json_tokener_new_ex(JC_DEPTH);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *orig = json_tokener_parse_ex(tok, text, (int)n + 1);
    json_tokener_free(tok);
    swann_net *net = NULL;
    swann_status st = swann_create(text, 4, NULL, 0, &net);
    int ok = 0;
    if (st != SWANN_OK) {
        snprintf(why, cap, "swann_create: %s %s (swann_arena_size succeeded)", swann_status_name(st),
                 swann_last_error());
    } else {
        size_t need = 0;
        swann_spec_json(net, NULL, 0, &need);
        char *c = malloc(need ? need : 1);
        if (c && swann_spec_json(net, c, need, &need) == SWANN_OK) {
            json_object *canon = json_tokener_parse(c);
            if (!canon) snprintf(why, cap, "json-c cannot read the canonical spec %s", c);
            else ok = holds(orig, canon, "$", why, cap);
            json_object_put(canon);
        } else {
            snprintf(why, cap, "swann_spec_json failed");
        }
        free(c);
        swann_destroy(net);
    }
    json_object_put(orig);
    values_checked++;
    if (!ok) values_bad++;
    return ok;
}

/* ---- directed cases: the rules, one example each ------------------------------------------- */

struct directed {
    const char *text;
    enum outcome want;
};

static char *repeat_text(const char *open, int n_open, const char *mid, const char *close, int n_close)
{
    size_t len = strlen(open) * (size_t)n_open + strlen(mid) + strlen(close) * (size_t)n_close + 1;
    char *s = malloc(len);
    if (!s) abort();
    s[0] = 0;
    char *p = s;
    for (int i = 0; i < n_open; i++) p = stpcpy(p, open);
    p = stpcpy(p, mid);
    for (int i = 0; i < n_close; i++) p = stpcpy(p, close);
    return s;
}

static void group_directed(void)
{
    static const struct directed D[] = {
        {"{\"input\": 4, \"layers\": [{\"units\": 3, \"activation\": \"relu\"}], \"loss\": \"mse\"}", O_BOTH_OK},
        {"{}", O_BOTH_SEMANTIC},
        {"[1, 2]", O_BOTH_SEMANTIC},
        {"1", O_BOTH_SEMANTIC},
        {" \"\\ud83d\\ude00\" ", O_BOTH_SEMANTIC},
        {"{\"a\":{\"a\":1},\"b\":{\"a\":2}}", O_BOTH_SEMANTIC},
        {"-0", O_BOTH_SEMANTIC},
        {"1e999", O_BOTH_SEMANTIC},
        {"99999999999999999999999", O_BOTH_SEMANTIC},
        {"", O_BOTH_REJECT},
        {"01", O_BOTH_REJECT},
        {"[01]", O_BOTH_REJECT},
        {".5", O_BOTH_REJECT},
        {"+1", O_BOTH_REJECT},
        {"-", O_BOTH_REJECT},
        {"[1,]", O_BOTH_REJECT},
        {"{\"a\" 1}", O_BOTH_REJECT},
        {"{\"a\": 'b'}", O_BOTH_REJECT},
        {"['b']", O_BOTH_REJECT},
        {"\"\\x\"", O_BOTH_REJECT},
        {"\xef\xbb\xbf{}", O_BOTH_REJECT},
        {"{} x", O_BOTH_REJECT},
        {"\f{}", O_BOTH_REJECT},
        {"\"\xf8\x88\x80\x80\x80\"", O_BOTH_REJECT},
        {"{\"a\":1,\"a\":2}", O_X_DUP},
        {"\"\\u0000\"", O_X_NUL},
        {"\"\\ud800\"", O_X_SURROGATE},
        {"\"\\udc00\"", O_X_SURROGATE},
        {"\"\\ud800\\u0041\"", O_X_SURROGATE},
        {"\"\x01\"", O_Q_CONTROL},
        {"\"\t\"", O_Q_CONTROL},
        {"\"\xc0\x80\"", O_Q_UTF8},
        {"\"\xed\xa0\x80\"", O_Q_UTF8},
        {"\"\xf4\x90\x80\x80\"", O_Q_UTF8},
        {"\"\xf5\x80\x80\x80\"", O_Q_UTF8},
        {"NaN", O_Q_NONFINITE},
        {"[-Infinity]", O_Q_NONFINITE},
        {"[1.]", O_Q_NUMBER},
        {"1.e5", O_Q_NUMBER},
        {"00", O_Q_NUMBER},
        {"-01", O_Q_NUMBER},
        {"[-.5]", O_Q_NUMBER},
        {"{'a': 1}", O_Q_QUOTE},
    };
    struct swv sw;
    struct jcv jc;
    char what[300], shown_text[200];
    for (size_t i = 0; i < sizeof D / sizeof *D; i++) {
        enum outcome o = classify(D[i].text, strlen(D[i].text), &sw, &jc);
        show(D[i].text, strlen(D[i].text), shown_text, 120);
        snprintf(what, sizeof what, "\"%s\": %s", shown_text, OUTCOME_NAMES[D[i].want]);
        CHECKF(o == D[i].want, what, "got %s; swann %s \"%s\"; json-c %s", OUTCOME_NAMES[o],
               swann_status_name(sw.st), sw.msg, jc.ok ? "accepts" : "refuses");
    }
    /* Depth: swann allows 64 levels of containers, json-c(65) 65 levels of values. */
    struct {
        int arrays;
        const char *mid;
        enum outcome want;
    } depth[] = {
        {64, "1", O_BOTH_SEMANTIC},
        {64, "", O_BOTH_SEMANTIC},
        {63, "{}", O_BOTH_SEMANTIC},
        {64, "{}", O_X_DEPTH},
        {65, "", O_X_DEPTH},
        {65, "1", O_BOTH_REJECT},
        {66, "", O_BOTH_REJECT},
    };
    for (size_t i = 0; i < sizeof depth / sizeof *depth; i++) {
        char *s = repeat_text("[", depth[i].arrays, depth[i].mid, "]", depth[i].arrays);
        enum outcome o = classify(s, strlen(s), &sw, &jc);
        snprintf(what, sizeof what, "%d arrays around \"%s\": %s", depth[i].arrays, depth[i].mid,
                 OUTCOME_NAMES[depth[i].want]);
        CHECKF(o == depth[i].want, what, "got %s; swann %s \"%s\"; json-c %s", OUTCOME_NAMES[o],
               swann_status_name(sw.st), sw.msg, jc.ok ? "accepts" : "refuses");
        free(s);
    }
    /* An integer literal beyond int64 where the spec wants a number: its value, not a clamped one. */
    {
        const char *big = "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"relu\"}], \"loss\": \"mse\","
                          " \"optimizer\": {\"type\": \"sgd\", \"clip_norm\": 99999999999999999999}}";
        swann_net *net = NULL;
        char c[1000] = "";
        size_t need = 0;
        swann_status st = swann_create(big, 1, NULL, 0, &net);
        if (st == SWANN_OK) swann_spec_json(net, c, sizeof c, &need);
        swann_destroy(net);
        json_object *o = json_tokener_parse(c), *opt = NULL, *clip = NULL;
        double v = o && json_object_object_get_ex(o, "optimizer", &opt) &&
                           json_object_object_get_ex(opt, "clip_norm", &clip) ? json_object_get_double(clip) : -1;
        CHECKF(st == SWANN_OK && v == 1e20, "\"clip_norm\": 99999999999999999999 reads as 1e20",
               "%s %s; canonical spec %s", swann_status_name(st), st ? swann_last_error() : "", c);
        json_object_put(o);
    }
    /* The value limit of parseSpec: 65 536 values in all. */
    for (int extra = 0; extra <= 1; extra++) {
        int zeros = MAX_VALUES - 1 + extra; /* plus the array itself */
        char *s = repeat_text("0,", zeros - 1, "0", "", 0);
        size_t len = strlen(s);
        char *t = malloc(len + 3);
        if (!t) abort();
        t[0] = '[';
        memcpy(t + 1, s, len);
        t[len + 1] = ']';
        t[len + 2] = 0;
        enum outcome o = classify(t, len + 2, &sw, &jc);
        enum outcome want = extra ? O_X_VALUES : O_BOTH_SEMANTIC;
        snprintf(what, sizeof what, "an array of %d numbers (%d values): %s", zeros, zeros + 1, OUTCOME_NAMES[want]);
        CHECKF(o == want, what, "got %s; swann %s \"%s\"", OUTCOME_NAMES[o], swann_status_name(sw.st), sw.msg);
        free(s);
        free(t);
    }
}

/* ---- the differential run ---------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void group_differential(void)
{
    const char *e = getenv("JSONORACLE_SECONDS");
    double seconds = e && *e ? atof(e) : 20;
    e = getenv("JSONORACLE_SEED");
    uint64_t seed = e && *e ? strtoull(e, NULL, 0) : (uint64_t)time(NULL);
    rs = seed;
    printf("# seed %llu (JSONORACLE_SEED), %.0f s (JSONORACLE_SECONDS), json-c %s, max depth %d\n",
           (unsigned long long)seed, seconds, json_c_version(), JC_DEPTH);
    pool = calloc(POOL, sizeof *pool);
    struct buf *t = malloc(sizeof *t);
    if (!pool || !t) abort();
    struct swv sw;
    struct jcv jc;
    long cases = 0, sizes = 0;
    double t0 = now(), end = t0 + seconds;
    while (1) {
        if ((cases & 255) == 0 && cases >= MIN_CASES && now() >= end) break;
        /* a base text */
        t->n = 0;
        t->b[0] = 0;
        int r = (int)rnd(100);
        if (r < 45 || (r < 75 && !pool_n)) {
            puts_(t, SEEDS[rnd(NSEEDS)]);
        } else if (r < 75) {
            const struct buf *src = &pool[rnd((uint64_t)pool_n)];
            memcpy(t->b, src->b, src->n + 1);
            t->n = src->n;
        } else if (r < 90) {
            puts_(t, "{\"input\": 1, \"layers\": [{\"units\": 1, \"activation\": \"relu\"}], \"loss\": \"mse\", ");
            gen_string(t, 0, chance(90) ? "x" : "loss");
            putc_(t, ':');
            gen_value(t, 1 + (int)rnd(6), chance(40));
            putc_(t, '}');
        } else {
            gen_value(t, (int)rnd(7), chance(40));
        }
        int muts = chance(15) ? 0 : 1 + (int)rnd(chance(70) ? 2 : 6);
        for (int k = 0; k < muts; k++) mutate(t);
        enum outcome o = classify(t->b, t->n, &sw, &jc);
        cases++;
        sizes += (long)t->n;
        counts[o]++;
        if (sw.json_ok == 0 && sw.problem >= 0) problem_counts[sw.problem]++;
        if (o >= FIRST_BAD) report_bad(t->b, t->n, o);
        if (o == O_BOTH_OK) {
            char why[600];
            if (!values_agree(t->b, t->n, &sw, why, sizeof why) && values_bad <= 5) {
                static char a[1200];
                show(t->b, t->n, a, sizeof a);
                CHECKF(0, "the canonical spec holds the text's values", "%s; text \"%s\"", why, a);
            }
        }
        if ((o == O_BOTH_OK || o == O_BOTH_SEMANTIC) && muts > 0) {
            struct buf *dst = pool_n < POOL ? &pool[pool_n++] : &pool[rnd(POOL)];
            memcpy(dst->b, t->b, t->n + 1);
            dst->n = t->n;
        }
    }
    double dt = now() - t0;
    printf("# %ld cases in %.1f s: %.0f exec/s, mean text %.0f bytes\n", cases, dt, cases / (dt > 0 ? dt : 1),
           cases ? (double)sizes / cases : 0.0);
    for (int o = 0; o < NOUTCOMES; o++) printf("#   %-58s %ld\n", OUTCOME_NAMES[o], counts[o]);
    printf("# values compared with json-c's: %ld specs (%ld differ), %ld skipped (arena over 1 MiB), "
           "%ld integers beyond int64 not compared\n", values_checked, values_bad, values_skipped, values_bigint);
    printf("# swann's JSON-level refusals by problem:\n");
    for (int p = 0; p < NPROBLEMS; p++) printf("#   %-58s %ld\n", PROBLEMS[p], problem_counts[p]);
    CHECKF(cases >= MIN_CASES, "at least 20000 cases ran", "%ld", cases);
    CHECKF(counts[O_BOTH_OK] > 0 && counts[O_BOTH_SEMANTIC] > 0 && counts[O_BOTH_REJECT] > 0,
           "the texts reach valid specs, valid JSON that is no spec, and invalid JSON", "%ld / %ld / %ld",
           counts[O_BOTH_OK], counts[O_BOTH_SEMANTIC], counts[O_BOTH_REJECT]);
    CHECKF(values_checked >= 100 && values_bad == 0, "canonical specs hold the values json-c reads",
           "%ld checked, %ld differ", values_checked, values_bad);
    for (int o = FIRST_BAD; o < NOUTCOMES; o++) {
        char what[160];
        snprintf(what, sizeof what, "no case of \"%s\"", OUTCOME_NAMES[o]);
        CHECKF(counts[o] == 0, what, "%ld cases (the first are shown above)", counts[o]);
    }
    free(t);
    free(pool);
}

int main(void)
{
    check_init("json_oracle");
    RUN_GROUP(group_directed);
    const char *e = getenv("JSONORACLE_SECONDS");
    unsigned limit = (unsigned)((e && *e ? atof(e) : 20) + 120);
    check_run_group("group_differential", group_differential, limit);
    return check_finish();
}
