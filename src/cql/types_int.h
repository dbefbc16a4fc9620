/* types_int.h: helpers shared by the files of the types module and by storage's key codec. */
#ifndef SL_CQL_TYPES_INT_H
#define SL_CQL_TYPES_INT_H

#include "cql/types.h"

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool sl__cql_utf8_valid(const uint8_t *s, size_t n);
/* sl_cql_value_compare with the recursion depth of nested values. */
int sl__cql_compare(const sl_cql_dtype *t, sl_slice a, sl_slice b, int depth);
/* Orders two's complement big-endian integers of any length (varint). */
int sl__cql_varint_cmp(sl_slice a, sl_slice b);
/* Orders decimals (a 4-byte scale, then a varint unscaled value) numerically. */
int sl__cql_decimal_cmp(sl_slice a, sl_slice b);

/* A varint's magnitude as decimal digits: *neg for a negative value; digits get no sign and no
 * leading zeros ("0" for zero). */
void sl__cql_varint_digits(sl_slice v, bool *neg, sl_buf *digits);
/* Minimal two's complement bytes of the decimal integer text [-]digits, appended to out.
 * Returns 0 or SL_ERR_INVAL. */
int sl__cql_varint_from_digits(const char *s, size_t n, sl_buf *out);
/* A decimal as sign, digits without trailing zeros (empty for zero) and exponent: the value is
 * 0.d1d2d3... * 10^exp. */
void sl__cql_decimal_norm(sl_slice v, bool *neg, sl_buf *digits, int64_t *exp);

/* Appends the bytes of hex text (no 0x prefix, even length). Returns 0 or SL_ERR_INVAL. */
int sl__cql_hex_decode(const char *s, size_t n, sl_buf *out);
/* Cassandra's timestamp text (yyyy-mm-dd[ hh:mm[:ss[.fff]]][zone]) -> ms since the epoch. */
bool sl__cql_parse_timestamp(const char *s, size_t n, int64_t *ms);

#endif
