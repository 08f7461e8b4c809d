/* test_fileio.c -- Avro object container files of events (rs_fileio.h,
 * src/wrap/rs_avro_file.c): files written by rs_avro_file_write_events
 * read back, and hand-made bad files (truncated, negative lengths, huge or
 * lying block headers, bad records inside a block) each fail with the exact
 * "path: offset N: ..." reason, nothing allocated from the bad length
 * (ASan would report the 2^40-byte request) and nothing leaked. */
#include <stdlib.h>
#include <unistd.h>

#include "recstream/rs_codec.h"
#include "recstream/rs_fileio.h"
#include "rs_test.h"

static char g_dir[64];
static char g_path[128];
static char err[512];

static const unsigned char SYNCM[16] = "0123456789abcdef";

static void zz(rs_buf_t *b, int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    do {
        unsigned char c = u & 0x7f;
        u >>= 7;
        if (u) c |= 0x80;
        rs_buf_putc(b, (char)c);
    } while (u);
}

static void str(rs_buf_t *b, const char *s) {
    zz(b, (int64_t)strlen(s));
    rs_buf_append(b, s, strlen(s));
}

/* Header with the event schema and the given codec; returns its length. */
static size_t header(rs_buf_t *b, const char *codec) {
    rs_buf_append(b, "Obj\x01", 4);
    zz(b, 2);
    str(b, "avro.codec");
    str(b, codec);
    str(b, "avro.schema");
    str(b, rs_schema_event_json());
    zz(b, 0);
    rs_buf_append(b, SYNCM, 16);
    return b->len;
}

/* One event record: e1, ts 5, u1, i1, view, four nulls and a null rec_version. */
static void record(rs_buf_t *b, int64_t id_len) {
    zz(b, id_len);
    if (id_len > 0) rs_buf_append(b, "e1", 2);
    zz(b, 5);
    str(b, "u1");
    str(b, "i1");
    zz(b, 0);
    for (int i = 0; i < 5; i++) zz(b, 0);
}

static void put(const rs_buf_t *b, size_t len) {
    FILE *f = fopen(g_path, "wb");
    if (!f) abort();
    fwrite(b->p, 1, len, f);
    fclose(f);
}

/* Opens and reads the file to the end; returns the first error (or RS_OK)
 * and the records read before it in *n. */
static rs_err_t read_all(int *n) {
    rs_avro_file_t *f = NULL;
    *n = 0;
    err[0] = '\0';
    rs_err_t rc = rs_avro_file_open(&f, g_path, err, sizeof(err));
    if (rc) return rc;
    rs_event_t ev;
    int r;
    while ((r = rs_avro_file_next(f, &ev, err, sizeof(err))) == 1) (*n)++;
    rs_avro_file_close(f);
    return r;
}

/* err without the "path: " prefix */
static const char *why(void) {
    size_t n = strlen(g_path);
    return strncmp(err, g_path, n) || err[n] != ':' ? err : err + n + 2;
}

TEST(written_files_read_back) {
    rs_event_t v[300];
    char ids[300][16];
    for (int i = 0; i < 300; i++) {
        snprintf(ids[i], sizeof(ids[i]), "e%d", i);
        memset(&v[i], 0, sizeof(v[i]));
        v[i].event_id = rs_str(ids[i], (uint32_t)strlen(ids[i]));
        v[i].user_id = rs_str("u", 1);
        v[i].item_id = rs_str("i", 1);
        v[i].ts_ms = i;
        v[i].type = RS_EV_VIEW;
        v[i].fields = RS_F_REQUIRED;
    }
    for (int deflate = 0; deflate < 2; deflate++) {
        ASSERT_OK(rs_avro_file_write_events(g_path, v, 300, deflate, err, sizeof(err)));
        int n;
        ASSERT_OK(read_all(&n));
        ASSERT_EQ(n, 300);
    }
    /* a file with no blocks is empty, not an error */
    ASSERT_OK(rs_avro_file_write_events(g_path, v, 0, 0, err, sizeof(err)));
    int n;
    ASSERT_OK(read_all(&n));
    ASSERT_EQ(n, 0);
}

TEST(truncated) {
    rs_buf_t b = {0};
    size_t h = header(&b, "null");
    rs_buf_t blk = {0};
    record(&blk, 2);
    record(&blk, 2);
    zz(&b, 2);
    zz(&b, (int64_t)blk.len);
    rs_buf_append(&b, blk.p, blk.len);
    rs_buf_append(&b, SYNCM, 16);
    int n;
    put(&b, b.len);
    ASSERT_OK(read_all(&n));
    ASSERT_EQ(n, 2);
    /* cut in the schema */
    put(&b, 40);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    char want[256];
    /* magic 4, count 1, "avro.codec" 11, "null" 5, "avro.schema" 12: the length is at 33 */
    snprintf(want, sizeof(want),
             "offset 33: header: metadata value: length %zu, but 5 bytes "
             "left in the file",
             strlen(rs_schema_event_json()));
    ASSERT_STREQ(why(), want);
    /* cut before the sync marker */
    put(&b, h - 3);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    snprintf(want, sizeof(want), "offset %zu: header: truncated before the sync marker", h - 16);
    ASSERT_STREQ(why(), want);
    /* cut inside the block: its byte size no longer fits */
    put(&b, b.len - 20);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    ASSERT_EQ(n, 0);
    snprintf(want, sizeof(want),
             "offset %zu: block: byte size %zu, but %zu bytes left in the file for it and its "
             "sync marker",
             h, blk.len, b.len - 20 - h - 2);
    ASSERT_STREQ(why(), want);
    rs_buf_free(&b);
    rs_buf_free(&blk);
}

TEST(negative_lengths) {
    /* metadata key of length -1 (Avro C would write before a malloc(0)) */
    rs_buf_t b = {0};
    rs_buf_append(&b, "Obj\x01", 4);
    zz(&b, 1);
    zz(&b, -1);
    rs_buf_append(&b, "xxxxxxxx", 8);
    put(&b, b.len);
    int n;
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    ASSERT_STREQ(why(), "offset 5: header: metadata key: negative length -1");
    /* metadata count INT64_MIN */
    rs_buf_reset(&b);
    rs_buf_append(&b, "Obj\x01", 4);
    zz(&b, INT64_MIN);
    zz(&b, 1);
    put(&b, b.len);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    ASSERT_STREQ(why(), "offset 4: header: bad metadata block (count -9223372036854775808)");
    /* a string of length -1 inside a record */
    rs_buf_reset(&b);
    size_t h = header(&b, "null");
    rs_buf_t blk = {0};
    record(&blk, 2);
    record(&blk, -1);
    zz(&b, 2);
    zz(&b, (int64_t)blk.len);
    rs_buf_append(&b, blk.p, blk.len);
    rs_buf_append(&b, SYNCM, 16);
    put(&b, b.len);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    ASSERT_EQ(n, 0); /* the block is checked whole before any record is returned */
    char want[160];
    snprintf(want, sizeof(want),
             "offset %zu: block: record 2 of 2: negative string or bytes length", h);
    ASSERT_STREQ(why(), want);
    /* negative block byte size and object count */
    for (int which = 0; which < 2; which++) {
        rs_buf_reset(&b);
        header(&b, "null");
        zz(&b, which ? -3 : 1);
        zz(&b, which ? 4 : -7);
        rs_buf_append(&b, "zzzzzzzzzzzzzzzzzzzzzzzz", 24);
        put(&b, b.len);
        ASSERT_EQ(read_all(&n), RS_EDECODE);
        snprintf(want, sizeof(want), "offset %zu: block: %s", h,
                 which ? "object count -3" : "negative byte size -7");
        ASSERT_STREQ(why(), want);
    }
    rs_buf_free(&b);
    rs_buf_free(&blk);
}

TEST(huge_blocks) {
    rs_buf_t b = {0};
    size_t h = header(&b, "null");
    rs_buf_t blk = {0};
    record(&blk, 2);
    zz(&b, 1);
    zz(&b, (int64_t)blk.len);
    rs_buf_append(&b, blk.p, blk.len);
    rs_buf_append(&b, SYNCM, 16);
    size_t second = b.len;
    /* a second block claiming 2^40 bytes: the first block's record, then the error */
    zz(&b, 1);
    zz(&b, (int64_t)1 << 40);
    rs_buf_append(&b, blk.p, blk.len);
    rs_buf_append(&b, SYNCM, 16);
    put(&b, b.len);
    int n;
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    ASSERT_EQ(n, 1);
    char want[200];
    snprintf(want, sizeof(want),
             "offset %zu: block: byte size 1099511627776, but %zu bytes left in the file for it "
             "and its sync marker",
             second, b.len - second - 1 - 6);
    ASSERT_STREQ(why(), want);
    /* an object count far beyond what the block's bytes can hold */
    b.len = second;
    zz(&b, (int64_t)1 << 60);
    zz(&b, (int64_t)blk.len);
    rs_buf_append(&b, blk.p, blk.len);
    rs_buf_append(&b, SYNCM, 16);
    put(&b, b.len);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    ASSERT_EQ(n, 1);
    snprintf(want, sizeof(want),
             "offset %zu: block: object count 1152921504606846976, more "
             "than its %zu bytes",
             second, blk.len);
    ASSERT_STREQ(why(), want);
    /* a wrong sync marker after the first block */
    b.len = second - 1;
    rs_buf_putc(&b, 'X');
    put(&b, b.len);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    ASSERT_EQ(n, 0);
    snprintf(want, sizeof(want), "offset %zu: sync marker differs from the header's", second - 16);
    ASSERT_STREQ(why(), want);
    /* an unsupported codec */
    rs_buf_reset(&b);
    size_t hs = header(&b, "snappy");
    put(&b, b.len);
    ASSERT_EQ(read_all(&n), RS_EDECODE);
    snprintf(want, sizeof(want),
             "offset %zu: header: codec \"snappy\" is not supported (null or deflate)", hs - 16);
    ASSERT_STREQ(why(), want);
    ASSERT_EQ(hs, h + 2);
    rs_buf_free(&b);
    rs_buf_free(&blk);
}

/* Avro C 1.11's schema parser leaks on a named type defined twice: such a
 * writer schema is refused before it gets there; the same short name in two
 * namespaces is two names, not a duplicate. */
TEST(duplicate_names) {
    static const char *const schemas[2] = {
        "{\"type\":\"record\",\"name\":\"E\",\"namespace\":\"n\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"T\",\"symbols\":[\"x\"]}},"
        "{\"name\":\"b\",\"type\":{\"type\":\"enum\",\"name\":\"T\",\"symbols\":[\"y\"]}}]}",
        "{\"type\":\"record\",\"name\":\"E\",\"namespace\":\"n\",\"fields\":["
        "{\"name\":\"a\",\"type\":{\"type\":\"enum\",\"name\":\"T\",\"symbols\":[\"x\"]}},"
        "{\"name\":\"b\",\"type\":{\"type\":\"enum\",\"name\":\"m.T\",\"symbols\":[\"y\"]}}]}"};
    rs_buf_t b = {0};
    for (int i = 0; i < 2; i++) {
        rs_buf_reset(&b);
        rs_buf_append(&b, "Obj\x01", 4);
        zz(&b, 1);
        str(&b, "avro.schema");
        str(&b, schemas[i]);
        zz(&b, 0);
        rs_buf_append(&b, SYNCM, 16);
        put(&b, b.len);
        int n;
        ASSERT_EQ(read_all(&n), RS_EDECODE);
        ASSERT_EQ(n, 0);
        int dup = strstr(why(), "header: writer schema defines n.T twice") != NULL;
        ASSERT_EQ(dup, i == 0);
    }
    rs_buf_free(&b);
}

int main(void) {
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs_test_fileio_XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    snprintf(g_path, sizeof(g_path), "%s/f.avro", g_dir);
    int rc = RUN_TESTS(t_written_files_read_back, t_truncated, t_negative_lengths, t_huge_blocks,
                       t_duplicate_names);
    unlink(g_path);
    rmdir(g_dir);
    return rc;
}
