/* kafka_render.c: how the message browser shows a key or a value: JSON, text, base64 for
 * binary, and Avro decoded with libavro from the writer's schema. */
#include "console/kafka_int.h"

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
