/* test_rocks.c -- the RocksDB wrapper: persistence, families, batches, the
 * sparse-row merge operator (in memory, through memtables, flush and
 * compaction, with bad operands), prefix iteration, properties, read-only
 * opens, write failures (the RS_FAULT_ROCKS_WRITE hook, and a really full
 * tmpfs in a private mount namespace when this process may create one).
 * Each test works in its own mkdtemp directory, removed at the end.
 * Also prints (no assertion) merge and put rates. Under ASan, RocksDB's own
 * static initializers may be reported as leaks: run with
 * ASAN_OPTIONS=detect_leaks=0 if that happens (our code must not leak). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_rocks.h"
#include "rs_test.h"

static const rs_rocks_opts_t OPTS = {.sync = 0, .cache_mb = 8, .write_buffer_mb = 4};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(p);
}

static void tmpdir(char *out, size_t n) {
    snprintf(out, n, "/tmp/rocks-test-XXXXXX");
    if (!mkdtemp(out)) {
        perror("mkdtemp");
        abort();
    }
}

static void rmtree(const char *dir) {
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Packs n (id, count) pairs. */
static void row(rs_buf_t *b, const uint32_t *pairs, int n) {
    rs_buf_reset(b);
    for (int i = 0; i < n; i++) {
        unsigned char p[8];
        rs_put_u32(p, pairs[2 * i]);
        rs_put_u32(p + 4, pairs[2 * i + 1]);
        rs_buf_append(b, p, 8);
    }
}

static int row_eq(const rs_buf_t *b, const uint32_t *pairs, int n) {
    if (b->len != (size_t)n * 8) return 0;
    for (int i = 0; i < n; i++)
        if (rs_get_u32((const unsigned char *)b->p + 8 * i) != pairs[2 * i] ||
            rs_get_u32((const unsigned char *)b->p + 8 * i + 4) != pairs[2 * i + 1])
            return 0;
    return 1;
}

static uint64_t rng_state;
static uint64_t rng(void) {
    uint64_t x = rng_state;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return rng_state = x;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(sparse_merge_cases) {
    rs_buf_t a = {0}, b = {0}, out = {0};
    /* disjoint, interleaved */
    row(&a, (uint32_t[]){1, 10, 5, 50}, 2);
    row(&b, (uint32_t[]){2, 20, 9, 90}, 2);
    ASSERT_OK(rs_sparse_row_merge(a.p, a.len, b.p, b.len, &out));
    ASSERT(row_eq(&out, (uint32_t[]){1, 10, 2, 20, 5, 50, 9, 90}, 4));
    /* overlapping */
    rs_buf_reset(&out);
    row(&a, (uint32_t[]){1, 1, 3, 3, 7, 7}, 3);
    row(&b, (uint32_t[]){3, 30, 7, 70, 8, 8}, 3);
    ASSERT_OK(rs_sparse_row_merge(a.p, a.len, b.p, b.len, &out));
    ASSERT(row_eq(&out, (uint32_t[]){1, 1, 3, 33, 7, 77, 8, 8}, 4));
    /* empty sides (NULL allowed with length 0) */
    rs_buf_reset(&out);
    ASSERT_OK(rs_sparse_row_merge(NULL, 0, b.p, b.len, &out));
    ASSERT(row_eq(&out, (uint32_t[]){3, 30, 7, 70, 8, 8}, 3));
    rs_buf_reset(&out);
    ASSERT_OK(rs_sparse_row_merge(a.p, a.len, NULL, 0, &out));
    ASSERT(row_eq(&out, (uint32_t[]){1, 1, 3, 3, 7, 7}, 3));
    rs_buf_reset(&out);
    ASSERT_OK(rs_sparse_row_merge(NULL, 0, NULL, 0, &out));
    ASSERT_EQ(out.len, 0);
    /* saturation, including max + max and the largest id */
    row(&a, (uint32_t[]){4, UINT32_MAX - 1, 6, UINT32_MAX, UINT32_MAX, 1}, 3);
    row(&b, (uint32_t[]){4, 5, 6, UINT32_MAX, UINT32_MAX, 2}, 3);
    ASSERT_OK(rs_sparse_row_merge(a.p, a.len, b.p, b.len, &out));
    ASSERT(row_eq(&out, (uint32_t[]){4, UINT32_MAX, 6, UINT32_MAX, UINT32_MAX, 3}, 3));
    /* appends to existing content */
    row(&a, (uint32_t[]){1, 1}, 1);
    ASSERT_OK(rs_sparse_row_merge(a.p, a.len, NULL, 0, &out));
    ASSERT_EQ(out.len, 32);
    ASSERT_EQ(rs_get_u32((unsigned char *)out.p + 24), 1);
    /* invalid: length not a multiple of 8, unsorted, duplicate ids; out unchanged */
    size_t before = out.len;
    ASSERT_EQ(rs_sparse_row_merge(a.p, 7, b.p, b.len, &out), RS_EARG);
    ASSERT_EQ(rs_sparse_row_merge(a.p, a.len, b.p, 12, &out), RS_EARG);
    row(&b, (uint32_t[]){5, 1, 2, 1}, 2);
    ASSERT_EQ(rs_sparse_row_merge(a.p, a.len, b.p, b.len, &out), RS_EARG);
    row(&b, (uint32_t[]){5, 1, 5, 1}, 2);
    ASSERT_EQ(rs_sparse_row_merge(a.p, a.len, b.p, b.len, &out), RS_EARG);
    ASSERT_EQ(rs_sparse_row_merge(a.p, a.len, NULL, 0, NULL), RS_EARG);
    ASSERT_EQ(out.len, before);
    rs_buf_free(&a);
    rs_buf_free(&b);
    rs_buf_free(&out);
}

TEST(open_close_reopen) {
    char dir[64], sub[128], err[256] = "";
    tmpdir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/a/b/state", dir); /* parents created */
    rs_rocks_t *db = NULL;
    ASSERT_EQ(rs_rocks_open(&db, NULL, &OPTS, err, sizeof err), RS_EARG);
    ASSERT_EQ(rs_rocks_open(&db, sub, NULL, err, sizeof err), RS_EARG);
    ASSERT_OK(rs_rocks_open(&db, sub, &OPTS, err, sizeof err));
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_rocks_batch_put(b, db, RS_CF_META, "k", 1, "v1", 2);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db);
    db = NULL;
    ASSERT_OK(rs_rocks_open(&db, sub, &OPTS, err, sizeof err));
    rs_buf_t v = {0};
    ASSERT_OK(rs_rocks_get(db, RS_CF_META, "k", 1, &v, err, sizeof err));
    ASSERT_EQ(v.len, 2);
    ASSERT(!memcmp(v.p, "v1", 2));
    rs_rocks_close(db);
    rs_rocks_close(NULL);
    ASSERT_STREQ(rs_cf_name(RS_CF_COOC), "cooc");
    ASSERT_STREQ(rs_cf_name(RS_CF_RECS), "recs");
    rs_buf_free(&v);
    rmtree(dir);
}

TEST(put_get_delete_across_cfs) {
    char dir[64], err[256] = "";
    tmpdir(dir, sizeof dir);
    rs_rocks_t *db = NULL;
    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    for (int c = 0; c < RS_CF__COUNT; c++) {
        if (c == RS_CF_COOC) continue; /* plain puts elsewhere; cooc holds rows */
        const char *name = rs_cf_name((rs_cf_t)c);
        rs_rocks_batch_put(b, db, (rs_cf_t)c, "same", 4, name, strlen(name));
    }
    ASSERT_EQ(rs_rocks_batch_count(b), RS_CF__COUNT - 1);
    ASSERT(rs_rocks_batch_bytes(b) > 0);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    rs_buf_t v = {0};
    for (int c = 0; c < RS_CF__COUNT; c++) {
        if (c == RS_CF_COOC) {
            ASSERT_EQ(rs_rocks_get(db, (rs_cf_t)c, "same", 4, &v, err, sizeof err), RS_ENOTFOUND);
            continue;
        }
        ASSERT_OK(rs_rocks_get(db, (rs_cf_t)c, "same", 4, &v, err, sizeof err));
        ASSERT_EQ(v.len, strlen(rs_cf_name((rs_cf_t)c)));
        ASSERT(!memcmp(v.p, rs_cf_name((rs_cf_t)c), v.len));
    }
    rs_rocks_batch_clear(b);
    ASSERT_EQ(rs_rocks_batch_count(b), 0);
    rs_rocks_batch_delete(b, db, RS_CF_ITEMS, "same", 4);
    rs_rocks_batch_put(b, db, RS_CF_USERS, "", 0, "", 0); /* empty key and value */
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    ASSERT_EQ(rs_rocks_get(db, RS_CF_ITEMS, "same", 4, &v, err, sizeof err), RS_ENOTFOUND);
    ASSERT_EQ(v.len, 4); /* a miss leaves val alone (still "recs") */
    ASSERT_OK(rs_rocks_get(db, RS_CF_USERS, "", 0, &v, err, sizeof err));
    ASSERT_EQ(v.len, 0);
    ASSERT_OK(rs_rocks_get(db, RS_CF_USERS, "same", 4, &v, err, sizeof err));
    ASSERT_EQ(v.len, 5);
    ASSERT_EQ(rs_rocks_get(db, RS_CF_DEDUP, "nope", 4, &v, err, sizeof err), RS_ENOTFOUND);
    ASSERT_EQ(v.len, 5);
    ASSERT_EQ(rs_rocks_get(db, (rs_cf_t)99, "same", 4, &v, err, sizeof err), RS_EARG);
    ASSERT_EQ(rs_rocks_get(NULL, RS_CF_USERS, "same", 4, &v, err, sizeof err), RS_EARG);
    rs_rocks_batch_destroy(b);
    rs_rocks_batch_destroy(NULL);
    rs_rocks_close(db);
    rs_buf_free(&v);
    rmtree(dir);
}

TEST(batch_atomic_and_binding) {
    char dir[64], dir2[64], err[256] = "";
    tmpdir(dir, sizeof dir);
    tmpdir(dir2, sizeof dir2);
    rs_rocks_t *db = NULL, *db2 = NULL;
    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    ASSERT_OK(rs_rocks_open(&db2, dir2, &OPTS, err, sizeof err));
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_buf_t r = {0}, v = {0};
    row(&r, (uint32_t[]){7, 2}, 1);
    char k[16];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(k, sizeof k, "u%04d", i);
        rs_rocks_batch_put(b, db, RS_CF_USERS, k, (size_t)n, k, (size_t)n);
        rs_rocks_batch_merge(b, db, RS_CF_COOC, k, (size_t)n, r.p, r.len);
    }
    rs_rocks_batch_put(b, db, RS_CF_META, "offset/0", 8, "12345", 5);
    ASSERT_EQ(rs_rocks_batch_count(b), 1001);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    /* bound to db: using or writing it with db2 is refused */
    ASSERT_EQ(rs_rocks_write(db2, b, err, sizeof err), RS_EARG);
    rs_rocks_batch_put(b, db2, RS_CF_USERS, "x", 1, "y", 1);
    ASSERT_EQ(rs_rocks_write(db, b, err, sizeof err), RS_EARG);
    rs_rocks_batch_clear(b);
    rs_rocks_batch_put(b, db2, RS_CF_USERS, "x", 1, "y", 1); /* rebinds after clear */
    ASSERT_OK(rs_rocks_write(db2, b, err, sizeof err));
    rs_rocks_batch_clear(b);
    rs_rocks_batch_put(b, db, (rs_cf_t)-1, "x", 1, "y", 1);
    ASSERT_EQ(rs_rocks_write(db, b, err, sizeof err), RS_EARG);
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db);
    rs_rocks_close(db2);

    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    for (int i = 0; i < 500; i++) {
        int n = snprintf(k, sizeof k, "u%04d", i);
        ASSERT_OK(rs_rocks_get(db, RS_CF_USERS, k, (size_t)n, &v, err, sizeof err));
        ASSERT(v.len == (size_t)n && !memcmp(v.p, k, (size_t)n));
        ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, k, (size_t)n, &v, err, sizeof err));
        ASSERT(row_eq(&v, (uint32_t[]){7, 2}, 1));
    }
    ASSERT_OK(rs_rocks_get(db, RS_CF_META, "offset/0", 8, &v, err, sizeof err));
    ASSERT(v.len == 5 && !memcmp(v.p, "12345", 5));
    ASSERT_EQ(rs_rocks_get(db, RS_CF_USERS, "x", 1, &v, err, sizeof err), RS_ENOTFOUND);
    rs_rocks_close(db);
    rs_buf_free(&r);
    rs_buf_free(&v);
    rmtree(dir);
    rmtree(dir2);
}

static void merge1(rs_rocks_t *db, const char *key, const rs_buf_t *r, size_t len) {
    char err[256];
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_rocks_batch_merge(b, db, RS_CF_COOC, key, strlen(key), r->p, len);
    if (rs_rocks_write(db, b, err, sizeof err)) fprintf(stderr, "merge1: %s\n", err);
    rs_rocks_batch_destroy(b);
}

TEST(merge_operator) {
    char dir[64], err[256] = "";
    tmpdir(dir, sizeof dir);
    rs_rocks_t *db = NULL;
    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    rs_buf_t r = {0}, v = {0};
    /* k1: operands only, in memtable, then partial-merged by a flush, then
     * fully merged by compaction; bad operands in between are skipped. */
    row(&r, (uint32_t[]){10, 1, 20, 2}, 2);
    merge1(db, "k1", &r, r.len);
    row(&r, (uint32_t[]){5, 5, 20, 3}, 2);
    merge1(db, "k1", &r, r.len);
    merge1(db, "k1", &r, 7);              /* length not a multiple of 8 */
    row(&r, (uint32_t[]){9, 1, 3, 1}, 2); /* unsorted */
    merge1(db, "k1", &r, r.len);
    const uint32_t exp1[] = {5, 5, 10, 1, 20, 5};
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k1", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, exp1, 3));
    ASSERT_OK(rs_rocks_flush(db, err, sizeof err));
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k1", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, exp1, 3));
    row(&r, (uint32_t[]){1, 1, 10, UINT32_MAX}, 2);
    merge1(db, "k1", &r, r.len);
    row(&r, (uint32_t[]){30, 4}, 1);
    merge1(db, "k1", &r, r.len);
    const uint32_t exp2[] = {1, 1, 5, 5, 10, UINT32_MAX, 20, 5, 30, 4};
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k1", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, exp2, 5));
    ASSERT_OK(rs_rocks_flush(db, err, sizeof err));
    ASSERT_OK(rs_rocks_compact(db));
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k1", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, exp2, 5));

    /* k2: a stored (put) base value, then merges on top */
    row(&r, (uint32_t[]){2, 2}, 1);
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_rocks_batch_put(b, db, RS_CF_COOC, "k2", 2, r.p, r.len);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    row(&r, (uint32_t[]){2, 3, 4, 4}, 2);
    merge1(db, "k2", &r, r.len);
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k2", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, (uint32_t[]){2, 5, 4, 4}, 2));

    /* k3: an invalid stored value is dropped, merges still apply */
    rs_rocks_batch_clear(b);
    rs_rocks_batch_put(b, db, RS_CF_COOC, "k3", 2, "junk!", 5);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    row(&r, (uint32_t[]){8, 1}, 1);
    merge1(db, "k3", &r, r.len);
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k3", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, (uint32_t[]){8, 1}, 1));
    ASSERT_OK(rs_rocks_flush(db, err, sizeof err));
    ASSERT_OK(rs_rocks_compact(db));
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k3", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, (uint32_t[]){8, 1}, 1));

    /* k4: only bad operands: an empty row, not an error */
    merge1(db, "k4", &r, 3);
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k4", 2, &v, err, sizeof err));
    ASSERT_EQ(v.len, 0);

    /* merged state survives a reopen (some of it only in the WAL) */
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db);
    db = NULL;
    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k1", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, exp2, 5));
    ASSERT_OK(rs_rocks_get(db, RS_CF_COOC, "k2", 2, &v, err, sizeof err));
    ASSERT(row_eq(&v, (uint32_t[]){2, 5, 4, 4}, 2));
    rs_rocks_close(db);
    rs_buf_free(&r);
    rs_buf_free(&v);
    rmtree(dir);
}

/* Collects the keys under prefix as "k1,k2,..." (bytes >= 0x80 as '~', bytes
 * below 10 as their digit). */
static void keys_of(rs_rocks_t *db, rs_cf_t cf, const char *p, size_t plen, char *out, size_t n) {
    out[0] = '\0';
    size_t o = 0;
    rs_rocks_iter_t *it = rs_rocks_iter_new(db, cf, p, plen);
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t kl, vl;
        const unsigned char *k = rs_rocks_iter_key(it, &kl);
        const char *v = rs_rocks_iter_value(it, &vl);
        if (vl != kl || memcmp(v, k, kl)) o += (size_t)snprintf(out + o, n - o, "!BADVAL");
        if (o) o += (size_t)snprintf(out + o, n - o, ",");
        for (size_t i = 0; i < kl && o + 2 < n; i++)
            out[o++] = k[i] >= 0x80 ? '~' : k[i] < 10 ? (char)('0' + k[i]) : (char)k[i];
        out[o] = '\0';
    }
    if (rs_rocks_iter_status(it, NULL, 0)) snprintf(out + o, n - o, "!STATUS");
    rs_rocks_iter_destroy(it);
}

TEST(iter_prefix) {
    char dir[64], err[256] = "", got[512];
    tmpdir(dir, sizeof dir);
    rs_rocks_t *db = NULL;
    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    static const char *const keys[] = {
        "a", "a\0",   "ab",        "abc",      "abd",          "ac",
        "b", "a\xff", "a\xff\x01", "\xff\xff", "\xff\xff\x02", "gone"};
    static const size_t klens[] = {1, 2, 2, 3, 3, 2, 1, 2, 3, 2, 3, 4};
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    for (size_t i = 0; i < sizeof klens / sizeof *klens; i++)
        rs_rocks_batch_put(b, db, RS_CF_ITEMS, keys[i], klens[i], keys[i], klens[i]);
    rs_rocks_batch_put(b, db, RS_CF_RECS, "ab", 2, "ab", 2); /* another family */
    rs_rocks_batch_delete(b, db, RS_CF_ITEMS, "gone", 4);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    for (int pass = 0; pass < 2; pass++) { /* memtable, then SST */
        keys_of(db, RS_CF_ITEMS, "ab", 2, got, sizeof got);
        ASSERT_STREQ(got, "ab,abc,abd");
        keys_of(db, RS_CF_ITEMS, "a", 1, got, sizeof got);
        ASSERT_STREQ(got, "a,a0,ab,abc,abd,ac,a~,a~1");
        keys_of(db, RS_CF_ITEMS, "a\xff", 2, got, sizeof got);
        ASSERT_STREQ(got, "a~,a~1");
        keys_of(db, RS_CF_ITEMS, "\xff", 1, got, sizeof got);
        ASSERT_STREQ(got, "~~,~~2");
        keys_of(db, RS_CF_ITEMS, "abc", 3, got, sizeof got);
        ASSERT_STREQ(got, "abc");
        keys_of(db, RS_CF_ITEMS, "abcd", 4, got, sizeof got);
        ASSERT_STREQ(got, "");
        keys_of(db, RS_CF_ITEMS, "aa", 2, got, sizeof got);
        ASSERT_STREQ(got, "");
        keys_of(db, RS_CF_ITEMS, "g", 1, got, sizeof got);
        ASSERT_STREQ(got, "");
        keys_of(db, RS_CF_ITEMS, NULL, 0, got, sizeof got);
        ASSERT_STREQ(got, "a,a0,ab,abc,abd,ac,a~,a~1,b,~~,~~2");
        keys_of(db, RS_CF_RECS, NULL, 0, got, sizeof got);
        ASSERT_STREQ(got, "ab");
        keys_of(db, RS_CF_USERS, NULL, 0, got, sizeof got);
        ASSERT_STREQ(got, "");
        ASSERT_OK(rs_rocks_flush(db, err, sizeof err));
    }
    ASSERT(rs_rocks_iter_new(db, RS_CF__COUNT, NULL, 0) == NULL);
    ASSERT(rs_rocks_iter_new(NULL, RS_CF_ITEMS, NULL, 0) == NULL);
    ASSERT_EQ(rs_rocks_iter_valid(NULL), 0);
    rs_rocks_iter_destroy(NULL);
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db);
    rmtree(dir);
}

TEST(state_bytes_and_properties) {
    char dir[64], err[256] = "";
    tmpdir(dir, sizeof dir);
    rs_rocks_t *db = NULL;
    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    ASSERT_EQ(rs_rocks_property_int(db, RS_CF_USERS, "rocksdb.estimate-num-keys"), 0);
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    char k[16], val[100];
    memset(val, 'x', sizeof val);
    for (int i = 0; i < 300; i++) {
        int n = snprintf(k, sizeof k, "user-%05d", i);
        rs_rocks_batch_put(b, db, RS_CF_USERS, k, (size_t)n, val, sizeof val);
    }
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    ASSERT(rs_rocks_state_bytes(db) > 0); /* memtable */
    ASSERT_OK(rs_rocks_flush(db, err, sizeof err));
    ASSERT(rs_rocks_property_int(db, RS_CF_USERS, "rocksdb.total-sst-files-size") > 0);
    ASSERT(rs_rocks_state_bytes(db) >=
           rs_rocks_property_int(db, RS_CF_USERS, "rocksdb.total-sst-files-size"));
    ASSERT_EQ(rs_rocks_property_int(db, RS_CF_USERS, "rocksdb.estimate-num-keys"), 300);
    ASSERT_EQ(rs_rocks_property_int(db, RS_CF_USERS, "rocksdb.no-such-property"), 0);
    ASSERT_EQ(rs_rocks_property_int(db, (rs_cf_t)42, "rocksdb.estimate-num-keys"), 0);
    ASSERT_EQ(rs_rocks_state_bytes(NULL), 0);
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db);
    rmtree(dir);
}

TEST(read_only_open) {
    char dir[64], missing[128], err[256] = "";
    tmpdir(dir, sizeof dir);
    rs_rocks_t *db = NULL, *ro = NULL;
    ASSERT_OK(rs_rocks_open(&db, dir, &OPTS, err, sizeof err));
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_rocks_batch_put(b, db, RS_CF_ITEMS, "i1", 2, "one", 3);
    rs_rocks_batch_put(b, db, RS_CF_ITEMS, "i2", 2, "two", 3);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db); /* i1/i2 only in the WAL: read-only open replays it */

    rs_rocks_opts_t o = OPTS;
    o.read_only = 1;
    ASSERT_OK(rs_rocks_open(&ro, dir, &o, err, sizeof err));
    rs_buf_t v = {0};
    ASSERT_OK(rs_rocks_get(ro, RS_CF_ITEMS, "i2", 2, &v, err, sizeof err));
    ASSERT(v.len == 3 && !memcmp(v.p, "two", 3));
    int n = 0;
    rs_rocks_iter_t *it = rs_rocks_iter_new(ro, RS_CF_ITEMS, "i", 1);
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) n++;
    ASSERT_OK(rs_rocks_iter_status(it, err, sizeof err));
    rs_rocks_iter_destroy(it);
    ASSERT_EQ(n, 2);
    b = rs_rocks_batch_new();
    rs_rocks_batch_put(b, ro, RS_CF_ITEMS, "i3", 2, "x", 1);
    ASSERT_EQ(rs_rocks_write(ro, b, err, sizeof err), RS_ESTATE);
    rs_rocks_batch_destroy(b);
    ASSERT_EQ(rs_rocks_flush(ro, err, sizeof err), RS_ESTATE);
    ASSERT_EQ(rs_rocks_compact(ro), RS_ESTATE);
    rs_rocks_close(ro);

    snprintf(missing, sizeof missing, "%s/nothing-here", dir);
    ro = NULL;
    ASSERT_EQ(rs_rocks_open(&ro, missing, &o, err, sizeof err), RS_ESTATE_IO);
    ASSERT(ro == NULL);
    ASSERT(strlen(err) > 0);
    rs_buf_free(&v);
    rmtree(dir);
}

/* Rates only (printed); the exact-sum check guards the merge path at volume. */
TEST(measure_rates) {
    char dir[64], err[256] = "";
    tmpdir(dir, sizeof dir);
    rs_rocks_t *db = NULL;
    rs_rocks_opts_t o = OPTS;
    o.write_buffer_mb = 64;
    ASSERT_OK(rs_rocks_open(&db, dir, &o, err, sizeof err));
    rng_state = rs_test_seed() * 0x9E3779B97F4A7C15ull | 1;
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_buf_t r = {0};
    enum { BATCH = 1000, NKEYS = 20000, PAIRS = 20 };
    /* Small by default to keep the unit run short; RS_ROCKS_BATCHES raises it. */
    const char *env = getenv("RS_ROCKS_BATCHES");
    const int BUDGET_BATCHES = env && atoi(env) > 0 ? atoi(env) : 60;
    uint64_t pairs_written = 0;
    double t0 = now_s();
    int nb = 0;
    for (; nb < BUDGET_BATCHES && (nb < 5 || now_s() - t0 < 1.0 || env); nb++) {
        rs_rocks_batch_clear(b);
        for (int i = 0; i < BATCH; i++) {
            unsigned char key[8];
            rs_put_be64(key, rng() % NKEYS);
            /* 20 ascending ids with random gaps, count 1 each */
            rs_buf_reset(&r);
            uint32_t id = (uint32_t)(rng() % 1000);
            for (int p = 0; p < PAIRS; p++) {
                unsigned char pr[8];
                id += 1 + (uint32_t)(rng() % 5000);
                rs_put_u32(pr, id);
                rs_put_u32(pr + 4, 1);
                rs_buf_append(&r, pr, 8);
            }
            rs_rocks_batch_merge(b, db, RS_CF_COOC, key, 8, r.p, r.len);
            pairs_written += PAIRS;
        }
        ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    }
    double dt = now_s() - t0;
    printf("rate: %.0f merges/s (%d batches x %d keys x %d pairs)\n", nb * BATCH / dt, nb, BATCH,
           PAIRS);
    /* Every pair counted exactly once across all merged rows. */
    uint64_t sum = 0;
    rs_rocks_iter_t *it = rs_rocks_iter_new(db, RS_CF_COOC, NULL, 0);
    for (; rs_rocks_iter_valid(it); rs_rocks_iter_next(it)) {
        size_t vl;
        const unsigned char *v = rs_rocks_iter_value(it, &vl);
        for (size_t off = 0; off + 8 <= vl; off += 8) sum += rs_get_u32(v + off + 4);
    }
    rs_rocks_iter_destroy(it);
    ASSERT_EQ(sum, pairs_written);

    char val[200];
    memset(val, 'v', sizeof val);
    t0 = now_s();
    nb = 0;
    uint64_t seq = 0;
    for (; nb < BUDGET_BATCHES && (nb < 5 || now_s() - t0 < 1.0 || env); nb++) {
        rs_rocks_batch_clear(b);
        for (int i = 0; i < BATCH; i++) {
            unsigned char key[8];
            rs_put_be64(key, seq++);
            rs_rocks_batch_put(b, db, RS_CF_USERS, key, 8, val, sizeof val);
        }
        ASSERT_OK(rs_rocks_write(db, b, err, sizeof err));
    }
    dt = now_s() - t0;
    printf("rate: %.0f puts/s (%d batches x %d x 200 B)\n", nb * BATCH / dt, nb, BATCH);
    rs_rocks_batch_destroy(b);
    rs_buf_free(&r);
    rs_rocks_close(db);
    rmtree(dir);
}

/* ---- write failures ---- */

static void fault_batch(rs_rocks_batch_t *b, rs_rocks_t *db, const char *user, rs_buf_t *r) {
    static const uint32_t one[] = {7, 1};
    rs_rocks_batch_clear(b);
    rs_rocks_batch_put(b, db, RS_CF_USERS, user, strlen(user), "v", 1);
    row(r, one, 1);
    rs_rocks_batch_merge(b, db, RS_CF_COOC, "k", 1, r->p, r->len); /* +1 per applied write */
}

/* users a, b present and the merged count equal to `want` */
static int fault_check(rs_rocks_t *db, uint32_t want) {
    char err[256];
    rs_buf_t v = {0};
    const uint32_t pairs[] = {7, want};
    int ok = rs_rocks_get(db, RS_CF_USERS, "a", 1, &v, err, sizeof(err)) == RS_OK &&
             rs_rocks_get(db, RS_CF_USERS, "b", 1, &v, err, sizeof(err)) == RS_OK &&
             rs_rocks_get(db, RS_CF_COOC, "k", 1, &v, err, sizeof(err)) == RS_OK &&
             row_eq(&v, pairs, 1);
    rs_buf_free(&v);
    return ok;
}

TEST(write_fault_hook) {
    char dir[64], path[128], flag[128], err[512];
    tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/db", dir);
    snprintf(flag, sizeof(flag), "%s/fail", dir);
    setenv("RS_FAULT_ROCKS_WRITE", flag, 1);
    rs_rocks_t *db = NULL;
    int orc = rs_rocks_open(&db, path, &OPTS, err, sizeof(err));
    unsetenv("RS_FAULT_ROCKS_WRITE");
    ASSERT_OK(orc);
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_buf_t r = {0}, v = {0};
    fault_batch(b, db, "a", &r);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof(err)));
    FILE *f = fopen(flag, "w");
    ASSERT(f != NULL);
    fclose(f);
    fault_batch(b, db, "b", &r);
    ASSERT_EQ(rs_rocks_write(db, b, err, sizeof(err)), RS_ESTATE_IO);
    ASSERT(strstr(err, "No space left on device") != NULL);
    ASSERT_OK(rs_rocks_get(db, RS_CF_USERS, "a", 1, &v, err, sizeof(err)));
    /* still failing: the read-write reopen is refused, reads keep working */
    ASSERT_EQ(rs_rocks_write(db, b, err, sizeof(err)), RS_ESTATE_IO);
    ASSERT(strstr(err, "reopen after a failed write") != NULL);
    ASSERT_OK(rs_rocks_get(db, RS_CF_USERS, "a", 1, &v, err, sizeof(err)));
    ASSERT_EQ(rs_rocks_get(db, RS_CF_USERS, "b", 1, &v, err, sizeof(err)), RS_ENOTFOUND);
    ASSERT_EQ(rs_rocks_flush(db, err, sizeof(err)), RS_ESTATE_IO);
    /* cleared, but an open iterator blocks the reopen */
    unlink(flag);
    rs_rocks_iter_t *it = rs_rocks_iter_new(db, RS_CF_USERS, NULL, 0);
    ASSERT(rs_rocks_iter_valid(it));
    ASSERT_EQ(rs_rocks_write(db, b, err, sizeof(err)), RS_ESTATE_IO);
    ASSERT(strstr(err, "iterator(s) open") != NULL);
    rs_rocks_iter_destroy(it);
    ASSERT_OK(rs_rocks_write(db, b, err, sizeof(err)));
    ASSERT(fault_check(db, 2)); /* the retried batch counted once */
    ASSERT_OK(rs_rocks_flush(db, err, sizeof(err)));
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db);
    db = NULL;
    ASSERT_OK(rs_rocks_open(&db, path, &OPTS, err, sizeof(err)));
    ASSERT(fault_check(db, 2));
    rs_rocks_close(db);
    rs_buf_free(&r);
    rs_buf_free(&v);
    rmtree(dir);
}

/* Appends to path until the filesystem is full. */
static void fill(const char *path, const char *chunk, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    while (fd >= 0 && write(fd, chunk, n) > 0) {
    }
    while (fd >= 0 && write(fd, chunk, 1) > 0) { /* the last partial page */
    }
    if (fd >= 0) close(fd);
}

/* Child of write_fault_disk_full, in its own mount namespace with a small
 * tmpfs at mnt: 0 pass, 1 fail. Writes 64 KiB batches (each also merging
 * +1 into cooc "k") until the full disk refuses one, retries it while still
 * full, frees the space, retries again: then every batch counted once. */
static int disk_full_child(const char *mnt) {
    char path[512], ballast[512], err[512] = "", key[32];
    snprintf(path, sizeof(path), "%s/db", mnt);
    snprintf(ballast, sizeof(ballast), "%s/ballast", mnt);
    rs_rocks_t *db = NULL;
    rs_rocks_batch_t *b = rs_rocks_batch_new();
    rs_buf_t r = {0}, v = {0};
    static char chunk[65536];
    static const uint32_t one[] = {7, 1};
    row(&r, one, 1);
    int ok = 0, rc = 0, written = 0;
    if (rs_rocks_open(&db, path, &OPTS, err, sizeof(err))) goto out;
    for (; written < 1000; written++) {
        if (written == 3) fill(ballast, chunk, sizeof(chunk)); /* 3 batches go in first */
        snprintf(key, sizeof(key), "f%d", written);
        rs_rocks_batch_clear(b);
        rs_rocks_batch_put(b, db, RS_CF_USERS, key, strlen(key), chunk, sizeof(chunk));
        rs_rocks_batch_merge(b, db, RS_CF_COOC, "k", 1, r.p, r.len);
        if ((rc = rs_rocks_write(db, b, err, sizeof(err)))) break;
    }
    fprintf(stderr, "  full after %d batches: %s\n", written, rc ? err : "(never)");
    if (rc != RS_ESTATE_IO || !strstr(err, "No space left on device")) goto out;
    /* Retried while full: the reopen deletes the old WAL (with its
     * preallocation and the failed partial record), which may free enough
     * for this write, so either outcome is right; never one applied twice. */
    fill(ballast, chunk, sizeof(chunk));
    rc = rs_rocks_write(db, b, err, sizeof(err));
    fprintf(stderr, "  retried while full: %s\n", rc ? err : "written (the reopen freed space)");
    if (rc && rc != RS_ESTATE_IO) goto out;
    if (written && rs_rocks_get(db, RS_CF_USERS, "f0", 2, &v, err, sizeof(err))) goto out;
    unlink(ballast);
    if (rc && rs_rocks_write(db, b, err, sizeof(err))) goto out;
    const uint32_t want[] = {7, (uint32_t)written + 1};
    for (int pass = 0; pass < 2; pass++) {
        if (rs_rocks_get(db, RS_CF_USERS, key, strlen(key), &v, err, sizeof(err)) ||
            rs_rocks_get(db, RS_CF_COOC, "k", 1, &v, err, sizeof(err)) || !row_eq(&v, want, 1)) {
            snprintf(err, sizeof(err), "pass %d: batch %s missing or count wrong", pass, key);
            goto out;
        }
        rs_rocks_close(db);
        db = NULL;
        if (!pass && rs_rocks_open(&db, path, &OPTS, err, sizeof(err))) goto out;
    }
    ok = 1;
out:
    if (!ok) fprintf(stderr, "  disk-full child failed: %s\n", err);
    rs_rocks_batch_destroy(b);
    rs_rocks_close(db);
    rs_buf_free(&r);
    rs_buf_free(&v);
    return ok ? 0 : 1;
}

/* A real ENOSPC: a forked child unshares its mount namespace (it is single
 * threaded, unlike this process with RocksDB's pool), mounts a 16 MiB tmpfs
 * and re-executes this binary to run disk_full_child() there. Skipped (with
 * a message) where that needs privileges this process lacks. */
TEST(write_fault_disk_full) {
    char dir[64];
    tmpdir(dir, sizeof(dir));
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
            mount("tmpfs", dir, "tmpfs", 0, "size=16m"))
            _exit(77);
        char *argv[] = {"test_rocks", "--disk-full-child", dir, NULL};
        execv("/proc/self/exe", argv);
        _exit(78);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    rmtree(dir);
    ASSERT(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77) {
        printf("  SKIP write_fault_disk_full: cannot mount a tmpfs in a private mount namespace "
               "(needs CAP_SYS_ADMIN); the RS_FAULT_ROCKS_WRITE hook test covers the logic\n");
        return;
    }
    ASSERT_EQ(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--disk-full-child")) return disk_full_child(argv[2]);
    return RUN_TESTS(t_sparse_merge_cases, t_open_close_reopen, t_put_get_delete_across_cfs,
                     t_batch_atomic_and_binding, t_merge_operator, t_iter_prefix,
                     t_state_bytes_and_properties, t_read_only_open, t_write_fault_hook,
                     t_write_fault_disk_full, t_measure_rates);
}
