/* rs_codec_out.h -- private: the per-format bodies of the alert and
 * segment-change codecs and the Avro recommendation writer (rs_codec_out.c). rs_codec.c does the
 * public dispatch, Confluent framing and AUTO detection, as for the other records, and sizes the
 * scratch arena with rs_codec_out_scratch() before decoding. */
#ifndef RS_CODEC_OUT_H
#define RS_CODEC_OUT_H

#include "core/rs_codec_int.h"

/* RS_EARG if the record cannot be written (rs_codec.h lists the cases). */
rs_err_t rs_codec_out_check_alert(const rs_alert_t *a);
rs_err_t rs_codec_out_check_segment(const rs_segment_change_t *s);

/* Append one record; the record must have passed the check. */
void rs_codec_out_avro_alert(const rs_alert_t *a, int64_t created_ms, rs_buf_t *out);
void rs_codec_out_json_alert(const rs_alert_t *a, int64_t created_ms, rs_buf_t *out);
void rs_codec_out_avro_segment(const rs_segment_change_t *s, int64_t created_ms, rs_buf_t *out);
void rs_codec_out_json_segment(const rs_segment_change_t *s, int64_t created_ms, rs_buf_t *out);
/* A recommendation list (schemas/recommendation.avsc): written here too,
 * as it is sent once per changed list, where Avro C's generic values cost
 * ~10% of the loop thread. */
void rs_codec_out_avro_rec(const rs_rec_t *r, rs_buf_t *out);

/* Arena bytes a decode of an n-byte body may need (strings, the number
 * array and its alignment). */
size_t rs_codec_out_scratch(size_t n);

/* The whole input must be one record; out is zeroed by the caller. */
rs_err_t rs_codec_out_avro_decode_alert(rs_codec_t *c, const uint8_t *p, size_t n,
                                        rs_alert_msg_t *out, char *errstr, size_t errstr_size);
rs_err_t rs_codec_out_json_decode_alert(rs_codec_t *c, const char *p, size_t n, rs_alert_msg_t *out,
                                        char *errstr, size_t errstr_size);
rs_err_t rs_codec_out_avro_decode_segment(rs_codec_t *c, const uint8_t *p, size_t n,
                                          rs_segment_msg_t *out, char *errstr, size_t errstr_size);
rs_err_t rs_codec_out_json_decode_segment(rs_codec_t *c, const char *p, size_t n,
                                          rs_segment_msg_t *out, char *errstr, size_t errstr_size);

#endif
