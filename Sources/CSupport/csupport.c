#define _POSIX_C_SOURCE 200809L
#include "csupport.h"
#include <stdio.h>

#define CS_ERR_CAP 512

static _Thread_local char cs_err_buf[CS_ERR_CAP];
static _Thread_local size_t cs_err_len;

void cs_err_begin(const char *text) {
    cs_err_len = 0;
    cs_err_buf[0] = '\0';
    cs_err_append(text);
}

void cs_err_append(const char *text) {
    if (text == NULL) return;
    while (*text != '\0' && cs_err_len + 1 < CS_ERR_CAP) {
        char c = *text++;
        /* one line: control characters (from JSON keys, file names) become '?' */
        cs_err_buf[cs_err_len++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
    }
    cs_err_buf[cs_err_len] = '\0';
}

void cs_err_append_uint(uint64_t value) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)value);
    cs_err_append(tmp);
}

void cs_err_append_int(int64_t value) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%lld", (long long)value);
    cs_err_append(tmp);
}

void cs_err_append_double(double value) {
    char tmp[32];
    cs_format_double(value, tmp);
    cs_err_append(tmp);
}

const char *cs_err_text(void) { return cs_err_buf; }

void cs_format_double(double value, char out[32]) {
    if (isnan(value)) { memcpy(out, "nan", 4); return; }
    if (isinf(value)) { memcpy(out, value > 0 ? "inf" : "-inf", value > 0 ? 4 : 5); return; }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, 32, "%.*g", precision, value);
        if (strtod(out, NULL) == value) return;
    }
}

void *cs_aligned_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    return p;
}

void cs_free(void *p) { free(p); }
