/* types_text.c: CQL values as text: formatting (CQL literal, cqlsh display, JSON), constants
 * and literals to serialized values, and the arbitrary-precision helpers varint and decimal
 * need. */
#include "cql/types.h"
#include "cql/types_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <strings.h>

/* ---- varint and decimal ---- */

void sl__cql_varint_digits(sl_slice v, bool *neg, sl_buf *digits)
{
    *neg = v.len && (v.ptr[0] & 0x80);
    size_t n = v.len;
    uint8_t *mag = sl_malloc(n ? n : 1);
    if (n) memcpy(mag, v.ptr, n);
    if (*neg) { /* magnitude = ~v + 1 */
        unsigned carry = 1;
        for (size_t i = n; i-- > 0;) {
            unsigned x = (uint8_t)~mag[i] + carry;
            mag[i] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    /* Repeated division by 10^9, collecting 9-digit groups least significant first. */
    uint32_t *groups = sl_malloc((n / 3 + 2) * sizeof(*groups));
    size_t ng = 0, start = 0;
    for (;;) {
        while (start < n && mag[start] == 0)
            start++;
        if (start == n) break;
        uint64_t rem = 0;
        for (size_t i = start; i < n; i++) {
            rem = rem << 8 | mag[i];
            mag[i] = (uint8_t)(rem / 1000000000u);
            rem %= 1000000000u;
        }
        groups[ng++] = (uint32_t)rem;
    }
    if (ng == 0) {
        sl_buf_append_str(digits, "0");
        *neg = false;
    } else {
        sl_buf_printf(digits, "%" PRIu32, groups[ng - 1]);
        for (size_t i = ng - 1; i-- > 0;)
            sl_buf_printf(digits, "%09" PRIu32, groups[i]);
    }
    sl_free(groups);
    sl_free(mag);
}

int sl__cql_varint_from_digits(const char *s, size_t n, sl_buf *out)
{
    bool neg = false;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
    if (i == n) return SL_ERR_INVAL;
    /* Big-endian magnitude with one spare leading byte for the sign. */
    size_t cap = (n - i) / 2 + 2, len = 1;
    uint8_t *m = sl_calloc(cap, 1);
    for (; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            sl_free(m);
            return SL_ERR_INVAL;
        }
        unsigned carry = (unsigned)(s[i] - '0');
        for (size_t k = cap; k-- > cap - len;) {
            unsigned x = m[k] * 10u + carry;
            m[k] = (uint8_t)x;
            carry = x >> 8;
        }
        if (carry) m[cap - ++len] = (uint8_t)carry;
    }
    uint8_t *b = m + cap - len - 1; /* include a zero sign byte */
    size_t bl = len + 1;
    if (neg) {
        unsigned carry = 1;
        for (size_t k = bl; k-- > 0;) {
            unsigned x = (uint8_t)~b[k] + carry;
            b[k] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    while (bl > 1 && ((b[0] == 0x00 && !(b[1] & 0x80)) || (b[0] == 0xff && (b[1] & 0x80)))) {
        b++;
        bl--;
    }
    sl_buf_append(out, b, bl);
    sl_free(m);
    return 0;
}

void sl__cql_decimal_norm(sl_slice v, bool *neg, sl_buf *digits, int64_t *exp)
{
    *neg = false;
    *exp = 0;
    if (v.len < 4) return;
    int32_t scale = (int32_t)sl_get_be32(v.ptr);
    size_t start = digits->len;
    sl__cql_varint_digits((sl_slice){v.ptr + 4, v.len - 4}, neg, digits);
    size_t nd = digits->len - start;
    if (nd == 1 && digits->ptr[start] == '0') {
        digits->len = start;
        return;
    }
    *exp = (int64_t)nd - scale;
    while (digits->len > start && digits->ptr[digits->len - 1] == '0')
        digits->len--;
}

int sl__cql_decimal_cmp(sl_slice a, sl_slice b)
{
    sl_buf da = SL_BUF_INIT, db = SL_BUF_INIT;
    bool na, nb;
    int64_t ea, eb;
    sl__cql_decimal_norm(a, &na, &da, &ea);
    sl__cql_decimal_norm(b, &nb, &db, &eb);
    int sa = da.len == 0 ? 0 : na ? -1 : 1, sb = db.len == 0 ? 0 : nb ? -1 : 1;
    int c;
    if (sa != sb)
        c = sa < sb ? -1 : 1;
    else if (sa == 0)
        c = 0;
    else {
        if (ea != eb)
            c = ea < eb ? -1 : 1;
        else {
            size_t n = SL_MIN(da.len, db.len);
            c = memcmp(da.ptr, db.ptr, n);
            c = c ? (c < 0 ? -1 : 1) : (da.len > db.len) - (da.len < db.len);
        }
        if (sa < 0) c = -c;
    }
    sl_buf_free(&da);
    sl_buf_free(&db);
    return c;
}

/* Java's BigDecimal.toString: plain notation unless the scale is negative or the number is
 * below 1e-6, then d.dddE+n. */
static void format_decimal(sl_slice v, sl_buf *out)
{
    if (v.len < 4) {
        sl_buf_append_str(out, "0");
        return;
    }
    int32_t scale = (int32_t)sl_get_be32(v.ptr);
    sl_buf d = SL_BUF_INIT;
    bool neg;
    sl__cql_varint_digits((sl_slice){v.ptr + 4, v.len - 4}, &neg, &d);
    int64_t nd = (int64_t)d.len;
    int64_t adjusted = -(int64_t)scale + (nd - 1);
    if (neg) sl_buf_append_str(out, "-");
    if (scale >= 0 && adjusted >= -6) {
        if (scale == 0) {
            sl_buf_append(out, d.ptr, d.len);
        } else if (nd > scale) {
            sl_buf_append(out, d.ptr, (size_t)(nd - scale));
            sl_buf_append_str(out, ".");
            sl_buf_append(out, d.ptr + (nd - scale), (size_t)scale);
        } else {
            sl_buf_append_str(out, "0.");
            for (int64_t i = 0; i < scale - nd; i++)
                sl_buf_append_str(out, "0");
            sl_buf_append(out, d.ptr, d.len);
        }
    } else {
        sl_buf_append(out, d.ptr, 1);
        if (nd > 1) {
            sl_buf_append_str(out, ".");
            sl_buf_append(out, d.ptr + 1, d.len - 1);
        }
        sl_buf_printf(out, "E%s%" PRId64, adjusted >= 0 ? "+" : "", adjusted);
    }
    sl_buf_free(&d);
}

/* [-+]digits[.digits][e[-+]digits] -> scale + varint. */
static int decimal_from_text(const char *s, size_t n, sl_buf *out)
{
    sl_buf digits = SL_BUF_INIT;
    size_t i = 0;
    int64_t frac = 0, exp = 0;
    bool any = false;
    if (i < n && (s[i] == '-' || s[i] == '+')) sl_buf_append(&digits, &s[i++], 1);
    for (; i < n && isdigit((unsigned char)s[i]); i++, any = true)
        sl_buf_append(&digits, &s[i], 1);
    if (i < n && s[i] == '.') {
        for (i++; i < n && isdigit((unsigned char)s[i]); i++, any = true, frac++)
            sl_buf_append(&digits, &s[i], 1);
    }
    if (any && i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
        if (i == n) any = false;
        for (; i < n && isdigit((unsigned char)s[i]); i++) {
            exp = exp * 10 + (s[i] - '0');
            if (exp > INT32_MAX) any = false;
        }
        if (eneg) exp = -exp;
    }
    int64_t scale = frac - exp;
    if (!any || i != n || scale > INT32_MAX || scale < INT32_MIN) {
        sl_buf_free(&digits);
        return SL_ERR_INVAL;
    }
    sl_buf_put_be32(out, (uint32_t)(int32_t)scale);
    int rc = sl__cql_varint_from_digits((const char *)digits.ptr, digits.len, out);
    sl_buf_free(&digits);
    return rc;
}

/* ---- dates ---- */

/* style 0: cqlsh "2024-01-02 03:04:05.678000+0000"; 1: literal "2024-01-02T03:04:05.678Z";
 * 2: JSON "2024-01-02 03:04:05.678Z". */
static void format_timestamp(int64_t ms, int style, sl_buf *out)
{
    int64_t days = sl_floor_div(ms, 86400000);
    int64_t rem = ms - days * 86400000;
    int64_t y;
    int mo, d;
    sl_civil_from_days(days, &y, &mo, &d);
    unsigned h = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60),
             s = (unsigned)(rem / 1000 % 60), f = (unsigned)(rem % 1000);
    sl_buf_printf(out, "%04" PRId64 "-%02d-%02d%c%02u:%02u:%02u.%03u", y, mo, d,
                  style == 1 ? 'T' : ' ', h, mi, s, f);
    sl_buf_append_str(out, style == 0 ? "000+0000" : "Z");
}

static void format_date(uint32_t v, sl_buf *out)
{
    int64_t days = (int64_t)v - 2147483648LL;
    int64_t y;
    int m, d;
    sl_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) { /* as cqlsh: out of the printable range, the day count */
        sl_buf_printf(out, "%" PRId64, days);
        return;
    }
    sl_buf_printf(out, "%04" PRId64 "-%02u-%02u", y, m, d);
}

static void format_time(int64_t ns, sl_buf *out)
{
    sl_buf_printf(out, "%02lld:%02lld:%02lld.%09lld", (long long)(ns / 3600000000000LL),
                  (long long)(ns / 60000000000LL % 60), (long long)(ns / 1000000000LL % 60),
                  (long long)(ns % 1000000000LL));
}

static bool rd_digits(const char **p, const char *end, int min, int max, int64_t *v)
{
    int n = 0;
    *v = 0;
    while (*p < end && n < max && isdigit((unsigned char)**p)) {
        *v = *v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n >= min;
}

static bool parse_date_part(const char **p, const char *end, int64_t *days)
{
    int64_t y, m, d;
    bool neg = *p < end && **p == '-';
    if (neg) (*p)++;
    if (!rd_digits(p, end, 1, 9, &y) || *p >= end || **p != '-') return false;
    (*p)++;
    if (!rd_digits(p, end, 1, 2, &m) || *p >= end || **p != '-') return false;
    (*p)++;
    if (!rd_digits(p, end, 1, 2, &d)) return false;
    if (neg) y = -y;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap) return false;
    *days = sl_days_from_civil(y, m, d);
    return true;
}

/* hh:mm[:ss[.f{1,9}]] -> nanoseconds of the day. */
static bool parse_time_part(const char **p, const char *end, int64_t *ns)
{
    int64_t h, m, s = 0, frac = 0;
    if (!rd_digits(p, end, 1, 2, &h) || *p >= end || **p != ':') return false;
    (*p)++;
    if (!rd_digits(p, end, 2, 2, &m)) return false;
    if (*p < end && **p == ':') {
        (*p)++;
        if (!rd_digits(p, end, 2, 2, &s)) return false;
        if (*p < end && **p == '.') {
            (*p)++;
            const char *f = *p;
            if (!rd_digits(p, end, 1, 9, &frac)) return false;
            for (long k = *p - f; k < 9; k++)
                frac *= 10;
        }
    }
    if (h > 23 || m > 59 || s > 59) return false;
    *ns = ((h * 60 + m) * 60 + s) * 1000000000LL + frac;
    return true;
}

/* Cassandra's timestamp formats: yyyy-mm-dd[( |T)hh:mm[:ss[.fff]]][ ][Z|(+|-)hh[:]mm]. The
 * zone defaults to UTC. */
static bool parse_timestamp(const char *s, size_t n, int64_t *ms)
{
    const char *p = s, *end = s + n;
    int64_t days, ns = 0, off = 0;
    if (!parse_date_part(&p, end, &days)) return false;
    if (p < end && (*p == 'T' || *p == ' ') && p + 1 < end && isdigit((unsigned char)p[1])) {
        p++;
        if (!parse_time_part(&p, end, &ns)) return false;
    }
    if (p < end && *p == ' ') p++;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        bool neg = *p++ == '-';
        int64_t hh, mm = 0;
        if (!rd_digits(&p, end, 2, 2, &hh)) return false;
        if (p < end && *p == ':') p++;
        if (p < end && !rd_digits(&p, end, 2, 2, &mm)) return false;
        off = (hh * 60 + mm) * 60000;
        if (neg) off = -off;
    } else if (end - p == 3 && !strncasecmp(p, "UTC", 3)) {
        p += 3;
    }
    if (p != end) return false;
    *ms = days * 86400000 + ns / 1000000 - off;
    return true;
}

bool sl__cql_parse_timestamp(const char *s, size_t n, int64_t *ms)
{
    return parse_timestamp(s, n, ms);
}

/* ---- formatting ---- */

static void put_quoted(sl_buf *out, const uint8_t *s, size_t n)
{
    sl_buf_append_str(out, "'");
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') sl_buf_append_str(out, "'");
        sl_buf_append(out, &s[i], 1);
    }
    sl_buf_append_str(out, "'");
}

static void put_json_string(sl_buf *out, const uint8_t *s, size_t n)
{
    sl_buf_append_str(out, "\"");
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sl_buf_append(out, e, 2);
        } else if (c == '\n') {
            sl_buf_append_str(out, "\\n");
        } else if (c == '\t') {
            sl_buf_append_str(out, "\\t");
        } else if (c == '\r') {
            sl_buf_append_str(out, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            sl_buf_printf(out, "\\u%04x", c);
        } else {
            sl_buf_append(out, &c, 1);
        }
    }
    sl_buf_append_str(out, "\"");
}

/* The shortest %g text that reads back as the same value, with a ".0" on whole numbers. */
static void format_double(double d, bool is_float, sl_buf *out)
{
    if (isnan(d)) {
        sl_buf_append_str(out, "NaN");
        return;
    }
    if (isinf(d)) {
        sl_buf_append_str(out, d < 0 ? "-Infinity" : "Infinity");
        return;
    }
    char tmp[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d) break;
    }
    sl_buf_append_str(out, tmp);
    if (!strpbrk(tmp, ".eEn")) sl_buf_append_str(out, ".0");
}

static void format_hex(sl_slice v, sl_buf *out)
{
    static const char hx[] = "0123456789abcdef";
    sl_buf_append_str(out, "0x");
    char *p = (char *)sl_buf_extend(out, v.len * 2);
    for (size_t i = 0; i < v.len; i++) {
        p[2 * i] = hx[v.ptr[i] >> 4];
        p[2 * i + 1] = hx[v.ptr[i] & 15];
    }
}

enum { F_LITERAL, F_DISPLAY, F_JSON };

static void format_value(const sl_cql_dtype *t, sl_slice v, int style, bool nested, int depth,
                         sl_buf *out);

static void format_collection(const sl_cql_dtype *t, sl_slice v, int style, int depth, sl_buf *out)
{
    sl_cql_iter it;
    if (sl_cql_iter_init(&it, t, v) < 0) goto bad;
    bool json = style == F_JSON;
    bool map = t->kind == SL_CQL_MAP, tuple = t->kind == SL_CQL_TUPLE, udt = t->kind == SL_CQL_UDT;
    const char *open = json ? (map || udt ? "{" : "[")
                            : (t->kind == SL_CQL_LIST ? "["
                               : tuple                ? "("
                                                      : "{");
    const char *close = json ? (map || udt ? "}" : "]")
                             : (t->kind == SL_CQL_LIST ? "]"
                                : tuple                ? ")"
                                                       : "}");
    sl_buf_append_str(out, open);
    sl_slice e;
    int rc;
    size_t i = 0;
    size_t start = out->len;
    while ((rc = sl_cql_iter_next(&it, &e)) == 1) {
        if ((tuple || udt) && i >= t->nsub) goto bad_trunc;
        if (i && (!map || (i & 1) == 0)) sl_buf_append_str(out, ", ");
        if (udt) {
            if (json)
                put_json_string(out, (const uint8_t *)t->field_names[i], strlen(t->field_names[i]));
            else
                sl_buf_append_str(out, t->field_names[i]);
            sl_buf_append_str(out, ": ");
        }
        const sl_cql_dtype *et = map ? t->sub[i & 1] : (tuple || udt) ? t->sub[i] : t->sub[0];
        if (json && map && (i & 1) == 0) {
            /* JSON object keys are strings: a key whose JSON is not one gets quoted. */
            sl_buf k = SL_BUF_INIT;
            format_value(et, e, F_JSON, true, depth + 1, &k);
            if (k.len && k.ptr[0] == '"')
                sl_buf_append(out, k.ptr, k.len);
            else
                put_json_string(out, k.ptr, k.len);
            sl_buf_free(&k);
        } else {
            format_value(et, e, style, true, depth + 1, out);
        }
        if (map && (i & 1) == 0) sl_buf_append_str(out, json ? ": " : ": ");
        i++;
    }
    if (rc < 0) goto bad_trunc;
    sl_buf_append_str(out, close);
    return;
bad_trunc:
    out->len = start - strlen(open);
bad:
    format_hex(v, out);
}

static void format_value(const sl_cql_dtype *t, sl_slice v, int style, bool nested, int depth,
                         sl_buf *out)
{
    bool json = style == F_JSON, lit = style == F_LITERAL;
    if (!v.ptr) {
        sl_buf_append_str(out, "null");
        return;
    }
    if (depth > SL_CQL_TYPE_MAX_DEPTH ||
        (sl_cql_dtype_fixed_size(t) >= 0 && v.len && v.len != (size_t)sl_cql_dtype_fixed_size(t))) {
        if (json) sl_buf_append_str(out, "\"");
        format_hex(v, out);
        if (json) sl_buf_append_str(out, "\"");
        return;
    }
    if (v.len == 0 && t->kind != SL_CQL_TEXT && t->kind != SL_CQL_ASCII && t->kind != SL_CQL_BLOB &&
        !sl_cql_dtype_is_collection(t)) {
        /* An empty value of a non-string type: cqlsh shows nothing, JSON null. */
        sl_buf_append_str(out, json ? "null" : lit ? "null" : "");
        return;
    }
    char tmp[64];
    switch (t->kind) {
    case SL_CQL_ASCII:
    case SL_CQL_TEXT:
        if (json)
            put_json_string(out, v.ptr, v.len);
        else if (lit || nested)
            put_quoted(out, v.ptr, v.len);
        else
            sl_buf_append(out, v.ptr, v.len);
        return;
    case SL_CQL_BOOLEAN: sl_buf_append_str(out, v.ptr[0] ? "true" : "false"); return;
    case SL_CQL_TINYINT: sl_buf_printf(out, "%d", (int8_t)v.ptr[0]); return;
    case SL_CQL_SMALLINT: sl_buf_printf(out, "%d", (int16_t)sl_get_be16(v.ptr)); return;
    case SL_CQL_INT: sl_buf_printf(out, "%" PRId32, (int32_t)sl_get_be32(v.ptr)); return;
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER: sl_buf_printf(out, "%" PRId64, (int64_t)sl_get_be64(v.ptr)); return;
    case SL_CQL_FLOAT:
    case SL_CQL_DOUBLE: {
        double d;
        bool is_float = t->kind == SL_CQL_FLOAT;
        if (is_float) {
            uint32_t x = sl_get_be32(v.ptr);
            float f;
            memcpy(&f, &x, 4);
            d = f;
        } else {
            uint64_t x = sl_get_be64(v.ptr);
            memcpy(&d, &x, 8);
        }
        bool special = isnan(d) || isinf(d);
        if (json && special) sl_buf_append_str(out, "\"");
        format_double(d, is_float, out);
        if (json && special) sl_buf_append_str(out, "\"");
        return;
    }
    case SL_CQL_VARINT: {
        bool neg;
        sl_buf d = SL_BUF_INIT;
        sl__cql_varint_digits(v, &neg, &d);
        if (neg) sl_buf_append_str(out, "-");
        sl_buf_append(out, d.ptr, d.len);
        sl_buf_free(&d);
        return;
    }
    case SL_CQL_DECIMAL: format_decimal(v, out); return;
    case SL_CQL_TIMESTAMP:
        if (json || lit) sl_buf_append_str(out, json ? "\"" : "'");
        format_timestamp((int64_t)sl_get_be64(v.ptr), json ? 2 : lit ? 1 : 0, out);
        if (json || lit) sl_buf_append_str(out, json ? "\"" : "'");
        return;
    case SL_CQL_DATE:
    case SL_CQL_TIME:
    case SL_CQL_INET: {
        sl_buf s = SL_BUF_INIT;
        if (t->kind == SL_CQL_DATE)
            format_date(sl_get_be32(v.ptr), &s);
        else if (t->kind == SL_CQL_TIME)
            format_time((int64_t)sl_get_be64(v.ptr), &s);
        else if (v.len == 4 || v.len == 16)
            inet_ntop(v.len == 4 ? AF_INET : AF_INET6, v.ptr, tmp, sizeof(tmp)),
                sl_buf_append_str(&s, tmp);
        else
            format_hex(v, &s);
        if (json)
            put_json_string(out, s.ptr, s.len);
        else if (lit || nested)
            put_quoted(out, s.ptr, s.len);
        else
            sl_buf_append(out, s.ptr, s.len);
        sl_buf_free(&s);
        return;
    }
    case SL_CQL_UUID:
    case SL_CQL_TIMEUUID:
        sl_cql_uuid_format(v.ptr, tmp);
        if (json) sl_buf_append_str(out, "\"");
        sl_buf_append_str(out, tmp);
        if (json) sl_buf_append_str(out, "\"");
        return;
    case SL_CQL_LIST:
    case SL_CQL_SET:
    case SL_CQL_MAP:
    case SL_CQL_TUPLE:
    case SL_CQL_UDT: format_collection(t, v, style, depth, out); return;
    case SL_CQL_BLOB:
    case SL_CQL_CUSTOM:
        if (json) sl_buf_append_str(out, "\"");
        format_hex(v, out);
        if (json) sl_buf_append_str(out, "\"");
        return;
    }
    format_hex(v, out);
}

void sl_cql_value_format(const sl_cql_dtype *t, sl_slice v, sl_cql_fmt fmt, sl_buf *out)
{
    format_value(t, v, fmt == SL_CQL_FMT_LITERAL ? F_LITERAL : F_DISPLAY, false, 0, out);
}

void sl_cql_value_format_json(const sl_cql_dtype *t, sl_slice v, sl_buf *out)
{
    format_value(t, v, F_JSON, false, 0, out);
}

/* ---- constants ---- */

static const char *const_kind_name(sl_cql_const_kind ck)
{
    switch (ck) {
    case SL_CQL_CONST_STRING: return "STRING";
    case SL_CQL_CONST_INTEGER: return "INTEGER";
    case SL_CQL_CONST_FLOAT: return "FLOAT";
    case SL_CQL_CONST_BOOLEAN: return "BOOLEAN";
    case SL_CQL_CONST_UUID: return "UUID";
    case SL_CQL_CONST_HEX: return "HEX";
    }
    return "?";
}

/* Which constants a receiver type accepts (Cassandra's Constants.Literal.testAssignment). */
static bool const_accepted(sl_cql_kind k, sl_cql_const_kind ck)
{
    switch (ck) {
    case SL_CQL_CONST_STRING:
        return k == SL_CQL_ASCII || k == SL_CQL_TEXT || k == SL_CQL_TIMESTAMP || k == SL_CQL_DATE ||
               k == SL_CQL_TIME || k == SL_CQL_INET;
    case SL_CQL_CONST_INTEGER:
        return k == SL_CQL_TINYINT || k == SL_CQL_SMALLINT || k == SL_CQL_INT ||
               k == SL_CQL_BIGINT || k == SL_CQL_COUNTER || k == SL_CQL_VARINT ||
               k == SL_CQL_DECIMAL || k == SL_CQL_FLOAT || k == SL_CQL_DOUBLE ||
               k == SL_CQL_TIMESTAMP || k == SL_CQL_DATE || k == SL_CQL_TIME;
    case SL_CQL_CONST_FLOAT: return k == SL_CQL_FLOAT || k == SL_CQL_DOUBLE || k == SL_CQL_DECIMAL;
    case SL_CQL_CONST_BOOLEAN: return k == SL_CQL_BOOLEAN;
    case SL_CQL_CONST_UUID: return k == SL_CQL_UUID || k == SL_CQL_TIMEUUID;
    case SL_CQL_CONST_HEX: return k == SL_CQL_BLOB;
    }
    return false;
}

static bool parse_int64(const char *s, size_t n, int64_t *v)
{
    char tmp[32];
    if (n == 0 || n >= sizeof(tmp)) return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *e;
    errno = 0;
    long long x = strtoll(tmp, &e, 10);
    if (errno || *e || !(isdigit((unsigned char)tmp[0]) || tmp[0] == '-' || tmp[0] == '+'))
        return false;
    *v = x;
    return true;
}

static bool parse_double(const char *s, size_t n, double *v)
{
    char tmp[400];
    if (n == 0 || n >= sizeof(tmp)) return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    if (!strcmp(tmp, "NaN")) {
        *v = NAN;
        return true;
    }
    if (!strcmp(tmp, "Infinity") || !strcmp(tmp, "+Infinity")) {
        *v = INFINITY;
        return true;
    }
    if (!strcmp(tmp, "-Infinity")) {
        *v = -INFINITY;
        return true;
    }
    for (size_t i = 0; i < n; i++) /* no hex floats, "inf" or "nan(...)" */
        if (!isdigit((unsigned char)tmp[i]) && !strchr("+-.eE", tmp[i])) return false;
    char *e;
    *v = strtod(tmp, &e);
    return *e == 0;
}

int sl__cql_hex_decode(const char *s, size_t n, sl_buf *out)
{
    if (n % 2) return SL_ERR_INVAL;
    uint8_t *p = sl_buf_extend(out, n / 2);
    for (size_t i = 0; i < n; i += 2) {
        int hi = isxdigit((unsigned char)s[i])
                     ? (isdigit((unsigned char)s[i]) ? s[i] - '0'
                                                     : (tolower((unsigned char)s[i]) - 'a' + 10))
                     : -1;
        int lo =
            isxdigit((unsigned char)s[i + 1])
                ? (isdigit((unsigned char)s[i + 1]) ? s[i + 1] - '0'
                                                    : (tolower((unsigned char)s[i + 1]) - 'a' + 10))
                : -1;
        if (hi < 0 || lo < 0) {
            out->len -= n / 2;
            return SL_ERR_INVAL;
        }
        p[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static void type_name(const sl_cql_dtype *t, sl_buf *err)
{
    sl_cql_dtype_to_cql(t, err);
}

int sl_cql_value_from_const(const sl_cql_dtype *t, sl_cql_const_kind ck, sl_slice text,
                            const char *column, sl_buf *out, sl_buf *err)
{
    const char *s = (const char *)text.ptr;
    size_t n = text.len;
    if (!s) s = "";
    if (!const_accepted(t->kind, ck)) {
        sl_buf_printf(err, "Invalid %s constant (%.*s) for \"%s\" of type ", const_kind_name(ck),
                      (int)n, s, column ? column : "?");
        type_name(t, err);
        return SL_ERR_INVAL;
    }
    int64_t i64;
    double d;
    size_t start = out->len;
    switch (t->kind) {
    case SL_CQL_ASCII:
        for (size_t i = 0; i < n; i++)
            if ((uint8_t)s[i] & 0x80) {
                sl_buf_printf(err, "Invalid ASCII character in string literal: %.*s", (int)n, s);
                return SL_ERR_INVAL;
            }
        sl_buf_append(out, s, n);
        return 0;
    case SL_CQL_TEXT:
        if (!sl__cql_utf8_valid((const uint8_t *)s, n)) {
            sl_buf_printf(err, "Invalid UTF-8 in string literal for \"%s\"", column ? column : "?");
            return SL_ERR_INVAL;
        }
        sl_buf_append(out, s, n);
        return 0;
    case SL_CQL_TINYINT:
        if (!parse_int64(s, n, &i64) || i64 < INT8_MIN || i64 > INT8_MAX) {
            sl_buf_printf(err, "Unable to make tinyint from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        sl_buf_put_u8(out, (uint8_t)(int8_t)i64);
        return 0;
    case SL_CQL_SMALLINT:
        if (!parse_int64(s, n, &i64) || i64 < INT16_MIN || i64 > INT16_MAX) {
            sl_buf_printf(err, "Unable to make short from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        sl_buf_put_be16(out, (uint16_t)(int16_t)i64);
        return 0;
    case SL_CQL_INT:
        if (!parse_int64(s, n, &i64) || i64 < INT32_MIN || i64 > INT32_MAX) {
            sl_buf_printf(err, "Unable to make int from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        sl_buf_put_be32(out, (uint32_t)(int32_t)i64);
        return 0;
    case SL_CQL_BIGINT:
    case SL_CQL_COUNTER:
        if (!parse_int64(s, n, &i64)) {
            sl_buf_printf(err, "Unable to make long from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        sl_buf_put_be64(out, (uint64_t)i64);
        return 0;
    case SL_CQL_VARINT:
        if (sl__cql_varint_from_digits(s, n, out)) {
            sl_buf_printf(err, "Unable to make varint from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        return 0;
    case SL_CQL_DECIMAL:
        if (decimal_from_text(s, n, out)) {
            out->len = start;
            sl_buf_printf(err, "Unable to make BigDecimal from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        return 0;
    case SL_CQL_FLOAT: {
        if (!parse_double(s, n, &d) || (isinf((float)d) && !isinf(d))) {
            sl_buf_printf(err, "Unable to make float from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        float f = (float)d;
        uint32_t x;
        memcpy(&x, &f, 4);
        sl_buf_put_be32(out, x);
        return 0;
    }
    case SL_CQL_DOUBLE: {
        if (!parse_double(s, n, &d)) {
            sl_buf_printf(err, "Unable to make double from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        uint64_t x;
        memcpy(&x, &d, 8);
        sl_buf_put_be64(out, x);
        return 0;
    }
    case SL_CQL_BOOLEAN:
        if (n == 4 && !strncasecmp(s, "true", 4))
            sl_buf_put_u8(out, 1);
        else if (n == 5 && !strncasecmp(s, "false", 5))
            sl_buf_put_u8(out, 0);
        else {
            sl_buf_printf(err, "Unable to make boolean from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        return 0;
    case SL_CQL_TIMESTAMP:
        if (ck == SL_CQL_CONST_INTEGER ? !parse_int64(s, n, &i64) : !parse_timestamp(s, n, &i64)) {
            sl_buf_printf(err, "Unable to coerce '%.*s' to a formatted date (long)", (int)n, s);
            return SL_ERR_INVAL;
        }
        sl_buf_put_be64(out, (uint64_t)i64);
        return 0;
    case SL_CQL_DATE: {
        const char *p = s;
        if (ck == SL_CQL_CONST_INTEGER ||
            (n && (isdigit((unsigned char)s[0])) && !memchr(s, '-', n))) {
            if (!parse_int64(s, n, &i64) || i64 < 0 || i64 > UINT32_MAX) {
                sl_buf_printf(err, "Unable to make unsigned int (for date) from: '%.*s'", (int)n,
                              s);
                return SL_ERR_INVAL;
            }
        } else if (!parse_date_part(&p, s + n, &i64) || p != s + n || i64 + 2147483648LL < 0 ||
                   i64 + 2147483648LL > UINT32_MAX) {
            sl_buf_printf(err, "Unable to coerce '%.*s' to a formatted date (long)", (int)n, s);
            return SL_ERR_INVAL;
        } else {
            i64 += 2147483648LL;
        }
        sl_buf_put_be32(out, (uint32_t)i64);
        return 0;
    }
    case SL_CQL_TIME: {
        const char *p = s;
        if (ck == SL_CQL_CONST_INTEGER) {
            if (!parse_int64(s, n, &i64) || i64 < 0 || i64 > 86399999999999LL) {
                sl_buf_printf(err, "Unable to make long (for time) from: '%.*s'", (int)n, s);
                return SL_ERR_INVAL;
            }
        } else if (!parse_time_part(&p, s + n, &i64) || p != s + n) {
            sl_buf_printf(err, "Timestamp format must be hh:mm:ss[.fffffffff] (got '%.*s')", (int)n,
                          s);
            return SL_ERR_INVAL;
        }
        sl_buf_put_be64(out, (uint64_t)i64);
        return 0;
    }
    case SL_CQL_INET: {
        char tmp[64];
        if (n >= sizeof(tmp)) goto bad_inet;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        uint8_t a[16];
        if (inet_pton(AF_INET, tmp, a) == 1)
            sl_buf_append(out, a, 4);
        else if (inet_pton(AF_INET6, tmp, a) == 1)
            sl_buf_append(out, a, 16);
        else
            goto bad_inet;
        return 0;
    bad_inet:
        sl_buf_printf(err, "Unable to make inet address from '%.*s'", (int)n, s);
        return SL_ERR_INVAL;
    }
    case SL_CQL_UUID:
    case SL_CQL_TIMEUUID: {
        uint8_t u[16];
        if (sl_cql_uuid_parse(text, u)) {
            sl_buf_printf(err, "Unable to make UUID from '%.*s'", (int)n, s);
            return SL_ERR_INVAL;
        }
        if (t->kind == SL_CQL_TIMEUUID && (u[6] >> 4) != 1) {
            sl_buf_printf(err, "Unsupported UUID version (%d) for a timeuuid: %.*s", u[6] >> 4,
                          (int)n, s);
            return SL_ERR_INVAL;
        }
        sl_buf_append(out, u, 16);
        return 0;
    }
    case SL_CQL_BLOB:
        if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') ||
            sl__cql_hex_decode(s + 2, n - 2, out)) {
            sl_buf_printf(err, "cannot parse '%.*s' as hex bytes", (int)n, s);
            return SL_ERR_INVAL;
        }
        return 0;
    default: break;
    }
    sl_buf_printf(err, "Invalid %s constant (%.*s) for \"%s\" of type ", const_kind_name(ck),
                  (int)n, s, column ? column : "?");
    type_name(t, err);
    return SL_ERR_INVAL;
}
