/* fuzz_ingest.c: what a hostile source API can send ingest. The input's first line is a
 * Retry-After value, the rest a response body. The Retry-After parser must refuse or give a wait
 * within a day; every user of a body that parses is flattened by format_data, and a record that
 * comes out must be a JSON object of the 12 fields, all strings, with the id given, and equal
 * byte for byte to jansson's dump of the flattened object. Never a crash or a leak. */
#include "fuzz.h"

#include "core/buf.h"
#include "pipeline/retry.h"
#include "pipeline/user.h"

#include <stdlib.h>
#include <string.h>

static int dump_cb(const char *p, size_t n, void *data)
{
    sl_buf_append((sl_buf *)data, p, n);
    return 0;
}

static void check_user(const json_t *u)
{
    static const char id[] = "0b3e4c5d-6f70-4182-93a4-b5c6d7e8f901";
    char err[256];
    sl_buf got = SL_BUF_INIT;
    int rc = sl_user_encode(u, id, &got, err, sizeof err);
    json_t *flat = sl_user_flatten(u, id, err, sizeof err);
    if ((rc == 0) != (flat != NULL)) abort();
    if (rc != 0) {
        if (!err[0] || got.len) abort();
        sl_buf_free(&got);
        return;
    }
    sl_buf want = SL_BUF_INIT;
    json_dump_callback(flat, dump_cb, &want, JSON_COMPACT);
    if (got.len != want.len || memcmp(got.ptr, want.ptr, got.len)) abort();
    json_error_t je;
    json_t *back = json_loadb((const char *)got.ptr, got.len, 0, &je);
    if (!back || json_object_size(back) != SL_USER_NFIELDS) abort();
    for (size_t i = 0; i < SL_USER_NFIELDS; i++)
        if (!json_is_string(json_object_get(back, sl_user_fields[i]))) abort();
    if (strcmp(json_string_value(json_object_get(back, "id")), id)) abort();
    json_decref(back);
    json_decref(flat);
    sl_buf_free(&want);
    sl_buf_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    char *header = malloc(hl + 1);
    memcpy(header, data, hl);
    header[hl] = 0;
    int64_t ms = -1;
    if (sl_retry_after_parse(header, 1763790000000, &ms) == 0 && (ms < 0 || ms > 86400000)) abort();
    free(header);
    if (!nl) return 0;

    size_t bl = size - hl - 1;
    char *body = malloc(bl ? bl : 1); /* exact size, so ASan sees any overread */
    memcpy(body, nl + 1, bl);
    json_error_t je;
    json_t *doc = json_loadb(body, bl, 0, &je);
    free(body);
    if (!doc) return 0;
    json_t *results = json_is_object(doc) ? json_object_get(doc, "results") : doc;
    if (json_is_array(results)) {
        for (size_t i = 0; i < json_array_size(results) && i < 64; i++)
            check_user(json_array_get(results, i));
    } else {
        check_user(results ? results : doc);
    }
    check_user(NULL);
    json_decref(doc);
    return 0;
}
