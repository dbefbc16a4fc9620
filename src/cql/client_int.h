/* client_int.h: the CQL client's request encoders, response decoders and a detached test
 * connection, private to src/cql and its unit tests. */
#ifndef SL_CQL_CLIENT_INT_H
#define SL_CQL_CLIENT_INT_H

#include "cql/client.h"

#define SL__CQLC_HEADER_LEN 9

/* Appends a v4 request header (version 0x04, no flags) with a zero length; returns its offset
 * for sl__cqlc_frame_finish, which patches the body length in. */
size_t sl__cqlc_frame_begin(sl_buf *b, int16_t stream, uint8_t opcode);
void sl__cqlc_frame_finish(sl_buf *b, size_t hdr_off);

/* Request bodies. */
void sl__cqlc_put_startup(sl_buf *b);
void sl__cqlc_put_auth_plain(sl_buf *b, const char *user, const char *password);
/* <consistency><flags>[values][page_size][paging_state][serial][timestamp] (§4.1.4). */
void sl__cqlc_put_params(sl_buf *b, const sl_slice *values, size_t nvalues, const sl_cqlc_qopts *qo,
                         int default_cl);
void sl__cqlc_put_long_string(sl_buf *b, const char *s, size_t len);
void sl__cqlc_put_short_bytes(sl_buf *b, const void *p, size_t len);

/* Decodes a RESULT body (after the header; hdr_flags for tracing, warnings and custom
 * payload). Takes body by move. Returns 0 or SL_ERR_PARSE with *out NULL. */
int sl__cqlc_decode_result(uint8_t hdr_flags, sl_buf *body, sl_cqlc_result **out);
/* Decodes an ERROR body into err (status SL_CQLC_ESERVER). Returns 0 or SL_ERR_PARSE. */
int sl__cqlc_decode_error(uint8_t hdr_flags, sl_slice body, sl_cqlc_error *err);

/* Tests: a client whose single connection is ready at once and writes into *capture instead
 * of a socket; sl__cqlc_test_flush moves queued frames there and sl__cqlc_test_feed hands it
 * response bytes as if read from the socket (callbacks run inside). */
int sl__cqlc_new_detached(const sl_cqlc_opts *opts, sl_buf *capture, sl_cqlc **out);
void sl__cqlc_test_flush(sl_cqlc *c);
void sl__cqlc_test_feed(sl_cqlc *c, const void *p, size_t n);

#endif
