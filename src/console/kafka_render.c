/* kafka_render.c: how the message browser shows a key or a value: JSON, text, base64 for
 * binary, and Avro decoded with libavro from the writer's schema. */
#include "console/kafka_int.h"

#include <avro.h>
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>

static const char *const format_names[] = {
    [SL_VALUE_NULL] = "null", [SL_VALUE_JSON] = "json",     [SL_VALUE_AVRO] = "avro",
    [SL_VALUE_TEXT] = "text", [SL_VALUE_BINARY] = "binary",
};

const char *sl_value_format_name(sl_value_format f)
{
    return (size_t)f < SL_ARRAY_LEN(format_names) ? format_names[f] : "binary";
}

sl_value_format sl_ck_render_plain(const uint8_t *p, size_t n, sl_buf *out)
{
    json_error_t jerr;
    /* jansson checks UTF-8 both when it parses and when it builds a string, so it decides JSON
     * vs text vs binary without a second validator. */
    json_t *j = n ? json_loadb((const char *)p, n, JSON_DECODE_ANY, &jerr) : NULL;
    if (j) {
        json_decref(j);
        sl_buf_append(out, p, n);
        return SL_VALUE_JSON;
    }
    /* Control bytes (other than tabs and line ends) make it binary even when it is UTF-8. */
    bool ctl = false;
    for (size_t i = 0; i < n && !ctl; i++)
        ctl = (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') || p[i] == 0x7f;
    json_t *s = ctl ? NULL : json_stringn((const char *)p, n);
    if (s) {
        json_decref(s);
        sl_buf_append(out, p, n);
        return SL_VALUE_TEXT;
    }
    /* EVP_EncodeBlock takes an int length; browse values are far below that bound. */
    size_t room = 4 * ((n + 2) / 3) + 1;
    uint8_t *dst = sl_buf_extend(out, room);
    int w = EVP_EncodeBlock(dst, p, (int)n);
    out->len -= room - (size_t)(w < 0 ? 0 : w);
    return SL_VALUE_BINARY;
}

struct sl_ck_avro {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t val;
};

sl_ck_avro *sl_ck_avro_new(const char *schema_json, char *err, size_t errlen)
{
    avro_schema_t schema;
    if (avro_schema_from_json_length(schema_json, strlen(schema_json), &schema) != 0) {
        snprintf(err, errlen, "bad Avro schema: %s", avro_strerror());
        return NULL;
    }
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    sl_ck_avro *a = sl_calloc(1, sizeof *a);
    if (!iface || avro_generic_value_new(iface, &a->val) != 0) {
        snprintf(err, errlen, "Avro schema: %s", avro_strerror());
        if (iface) avro_value_iface_decref(iface);
        avro_schema_decref(schema);
        sl_free(a);
        return NULL;
    }
    a->schema = schema;
    a->iface = iface;
    return a;
}

int sl_ck_avro_decode(sl_ck_avro *a, const uint8_t *p, size_t n, sl_buf *out, char *err,
                      size_t errlen)
{
    avro_value_reset(&a->val);
    avro_reader_t r = avro_reader_memory((const char *)p, (int64_t)n);
    char extra, *json = NULL;
    int rc = SL_ERR_PARSE;
    if (avro_value_read(r, &a->val) != 0) {
        snprintf(err, errlen, "Avro data does not match its schema: %s", avro_strerror());
    } else if (avro_read(r, &extra, 1) == 0) {
        snprintf(err, errlen, "Avro data has bytes after the datum");
    } else if (avro_value_to_json(&a->val, 1, &json) != 0) {
        snprintf(err, errlen, "Avro to JSON: %s", avro_strerror());
    } else {
        sl_buf_append_str(out, json);
        free(json);
        rc = 0;
    }
    avro_reader_free(r);
    return rc;
}

void sl_ck_avro_free(sl_ck_avro *a)
{
    if (!a) return;
    avro_value_decref(&a->val);
    avro_value_iface_decref(a->iface);
    avro_schema_decref(a->schema);
    sl_free(a);
}

bool sl_ck_contains(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0) return true;
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && tolower((unsigned char)hay[i + j]) == tolower((unsigned char)needle[j]))
            j++;
        if (j == m) return true;
    }
    return false;
}
