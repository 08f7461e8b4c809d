/* rs_rocks.c -- the only file that includes <rocksdb/c.h> (rs_rocks.h).
 *
 * Layout: one DB, the fixed families of rs_cf_t plus "default" (RocksDB
 * requires it; unused by us). Column families found on disk that we do not
 * know are opened too (RocksDB refuses a read-write open otherwise) and only
 * take part in flush/compact/state_bytes.
 *
 * Tuning (SPEC F6/F7): one LRU block cache shared by every family; bloom
 * filters (10 bits/key) on the point-read families users/items/dedup/recs,
 * in their tables and over their memtables' whole keys (most reads are
 * misses: an id never seen before);
 * LZ4 if this librocksdb links it (probed by opening; we fall back to no
 * compression on "not linked"); dynamic level bytes; 2 background jobs.
 * Writes: WAL always on, fsync per write iff opts->sync.
 *
 * cooc merge operator "rs_sparse_row": values are packed (u32 LE id, u32 LE
 * count) pairs, ids strictly ascending. Full and partial merge fold operands
 * left to right with a two-way merge (saturating sums). An invalid operand or
 * stored value is skipped and logged, never failed: a failed merge surfaces
 * as Corruption on every read of that key and as a background error in
 * compaction (which stops writes), which is far worse than losing one bad
 * delta. The result buffer is malloc'ed and released by delete_value.
 *
 * Batches are bound to the db whose column family handles they hold (first
 * put/merge/delete) until cleared; misuse poisons the batch so that
 * rs_rocks_write() reports it instead of writing to the wrong family.
 * Iterators seek to the prefix and stop at the first key without it; an
 * iterate_upper_bound (prefix + 1) additionally lets RocksDB skip tombstones
 * past the range. We do not use prefix extractors.
 *
 * Write failures: after an I/O error in a WAL append or a flush (disk full,
 * EIO, read-only remount) RocksDB 7.8 keeps a "background error" and fails
 * every later write, even once the cause is gone (measured: ENOSPC on a full
 * tmpfs, space freed, writes still failed 3 s later; a reopen fixed it), and
 * its C API has no Resume(). So a failed write marks the handle broken and
 * the NEXT rs_rocks_write() first closes and reopens the db in place (same
 * rs_rocks_t, so batches stay bound; a WriteBatch stores column family ids,
 * which the MANIFEST keeps across opens). If the read-write open fails (disk
 * still full: recovery must write an SST and a new WAL), the db is opened
 * read-only so reads keep answering, and the write fails again; the next
 * call tries again. If even that fails, reads fail with RS_ESTATE_IO rather
 * than answer "absent". Exactly-once across the reopen: the latest sequence
 * number is recorded before each write; after the reopen it must equal
 * that (the failed batch was not logged: write it) or that plus the batch's
 * entry count (a torn-looking failure that did reach the WAL: do not write
 * it twice); anything else refuses to write. A reopen is refused while
 * iterators are open (they would dangle).
 * Test hook RS_FAULT_ROCKS_WRITE=<file> (read at open): while <file>
 * exists, writes fail as if the disk were full and so does the read-write
 * reopen (the read-only fallback works), exercising the whole path above. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "recstream/rs_log.h"
#include "recstream/rs_rocks.h"

#define SUBSYS "rocks"

struct rs_rocks {
    rocksdb_t *db;
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    rocksdb_column_family_handle_t *cf[RS_CF__COUNT]; /* NULL: absent (read-only only) */
    rocksdb_column_family_handle_t **all;             /* every opened handle, incl. default */
    int nall;
    int read_only;
    /* write-failure recovery (see "Write failures" above) */
    char *dir;
    rs_rocks_opts_t opts;
    char *fault_path;                 /* RS_FAULT_ROCKS_WRITE test hook, NULL if unset */
    int broken;                       /* a write failed: reopen before the next one */
    int ro_fallback;                  /* reopened read-only because a read-write open failed */
    int n_iters;                      /* live iterators (a reopen would leave them dangling) */
    uint64_t seq_failed;              /* sequence number before the failed write */
    const rs_rocks_batch_t *failed_b; /* the batch that failed, its entry count */
    int failed_n;
    /* compaction filters (opts.filter), made once and kept across reopens;
     * the options only point at them, so they are destroyed after the db */
    rocksdb_compactionfilter_t *filt[RS_CF__COUNT];
};

struct rs_rocks_batch {
    rocksdb_writebatch_t *wb;
    rs_rocks_t *db; /* bound on first use, NULL after clear */
    int bad;        /* used with an invalid cf or a second db */
};

struct rs_rocks_iter {
    rs_rocks_t *db;
    rocksdb_iterator_t *it; /* NULL: family absent or db closed, iterator is empty */
    int closed;             /* created while the db was closed: status is an error */
    rocksdb_readoptions_t *ro;
    unsigned char *prefix, *upper; /* upper must outlive ro (RocksDB keeps a pointer) */
    size_t plen;
    int valid;
};

static const char *const cf_names[RS_CF__COUNT] = {"users", "items", "cooc",
                                                   "meta",  "dedup", "recs"};

const char *rs_cf_name(rs_cf_t cf) {
    return (unsigned)cf < RS_CF__COUNT ? cf_names[cf] : "?";
}

static const char closed_msg[] =
    "state store closed or read-only after a failed write (reopen pending)";

static int cf_ok(const rs_rocks_t *db, rs_cf_t cf) {
    return db && (unsigned)cf < RS_CF__COUNT && db->cf[cf];
}

/* Copies RocksDB's error text into errstr and frees it; returns err. */
static int take_err(char *rerr, char *errstr, size_t errstr_size, int err, const char *what) {
    rs_seterr(errstr, errstr_size, err, "%s: %s", what, rerr ? rerr : "unknown error");
    rocksdb_free(rerr);
    return err;
}

/* ---- sparse rows --------------------------------------------------------- */

#define PAIR 8

static int row_valid(const unsigned char *p, size_t len) {
    if (len % PAIR || (len && !p)) return 0;
    for (size_t o = PAIR; o < len; o += PAIR)
        if (rs_get_u32(p + o) <= rs_get_u32(p + o - PAIR)) return 0;
    return 1;
}

/* Two-way merge of valid rows into out (room for alen + blen); returns bytes. */
static size_t merge2(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
                     unsigned char *out) {
    size_t i = 0, j = 0, o = 0;
    while (i < alen && j < blen) {
        uint32_t ia = rs_get_u32(a + i), ib = rs_get_u32(b + j);
        if (ia < ib) {
            memcpy(out + o, a + i, PAIR);
            i += PAIR;
        } else if (ib < ia) {
            memcpy(out + o, b + j, PAIR);
            j += PAIR;
        } else {
            uint64_t sum = (uint64_t)rs_get_u32(a + i + 4) + rs_get_u32(b + j + 4);
            rs_put_u32(out + o, ia);
            rs_put_u32(out + o + 4, sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum);
            i += PAIR;
            j += PAIR;
        }
        o += PAIR;
    }
    if (i < alen) memcpy(out + o, a + i, alen - i), o += alen - i;
    if (j < blen) memcpy(out + o, b + j, blen - j), o += blen - j;
    return o;
}

rs_err_t rs_sparse_row_merge(const void *a, size_t alen, const void *b, size_t blen,
                             rs_buf_t *out) {
    if (!out || !row_valid(a, alen) || !row_valid(b, blen)) return RS_EARG;
    rs_buf_reserve(out, alen + blen);
    out->len += merge2(a, alen, b, blen, (unsigned char *)out->p + out->len);
    return RS_OK;
}

/* ---- merge operator ------------------------------------------------------ */

static atomic_ulong bad_operands;

static void log_bad(const char *key, size_t klen, size_t vlen, const char *what) {
    unsigned long n = atomic_fetch_add(&bad_operands, 1) + 1;
    if (n > 10 && (n & (n - 1))) return; /* first 10, then powers of two */
    char hex[2 * 16 + 1];
    size_t kl = klen < 16 ? klen : 16;
    for (size_t i = 0; i < kl; i++) {
        static const char dig[] = "0123456789abcdef";
        hex[2 * i] = dig[(unsigned char)key[i] >> 4];
        hex[2 * i + 1] = dig[(unsigned char)key[i] & 15];
    }
    hex[2 * kl] = '\0';
    rs_warn(SUBSYS,
            "cooc merge: skipping invalid %s (%zu bytes) for key %s%s (%zu bytes); %lu so far",
            what, vlen, hex, klen > kl ? "..." : "", klen, n);
}

/* Folds (existing, operands...) into one malloc'ed row; invalid inputs are
 * skipped. The result always fits in the sum of the input lengths. */
static char *fold(const char *key, size_t klen, const char *existing, size_t elen,
                  const char *const *ops, const size_t *oplens, int nops, size_t *outlen) {
    size_t total = existing ? elen : 0;
    for (int k = 0; k < nops; k++) total += oplens[k];
    unsigned char *acc = malloc(total ? total : 1), *tmp = malloc(total ? total : 1);
    if (!acc || !tmp) {
        free(acc);
        free(tmp);
        return NULL;
    }
    size_t alen = 0;
    if (existing) {
        if (row_valid((const unsigned char *)existing, elen)) {
            memcpy(acc, existing, elen);
            alen = elen;
        } else {
            log_bad(key, klen, elen, "stored value");
        }
    }
    for (int k = 0; k < nops; k++) {
        const unsigned char *op = (const unsigned char *)ops[k];
        if (!row_valid(op, oplens[k])) {
            log_bad(key, klen, oplens[k], "operand");
            continue;
        }
        alen = merge2(acc, alen, op, oplens[k], tmp);
        unsigned char *t = acc;
        acc = tmp;
        tmp = t;
    }
    free(tmp);
    *outlen = alen;
    return (char *)acc;
}

static char *mo_full(void *st, const char *key, size_t klen, const char *existing, size_t elen,
                     const char *const *ops, const size_t *oplens, int nops, unsigned char *success,
                     size_t *newlen) {
    char *r = fold(key, klen, existing, elen, ops, oplens, nops, newlen);
    *success = r != NULL;
    if (!r) *newlen = 0;
    return r;
}

static char *mo_partial(void *st, const char *key, size_t klen, const char *const *ops,
                        const size_t *oplens, int nops, unsigned char *success, size_t *newlen) {
    return mo_full(st, key, klen, NULL, 0, ops, oplens, nops, success, newlen);
}

static void mo_delete_value(void *st, const char *v, size_t vlen) {
    free((void *)v);
}
static void mo_destroy(void *st) {} /* NULL here segfaults in options destroy (FACTS.md) */
static const char *mo_name(void *st) {
    return "rs_sparse_row";
}

/* ---- open / close -------------------------------------------------------- */

static atomic_int lz4_unsupported; /* learned once per process */

static int mkdir_p(const char *dir) {
    char *p = rs_xstrdup(dir);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0755) && errno != EEXIST) rc = -1;
        *s = c;
        if (!c || rc) break;
    }
    free(p);
    return rc;
}

enum cf_kind { KIND_PLAIN, KIND_BLOOM, KIND_COOC };

static enum cf_kind kind_of(int cf) {
    switch (cf) {
    case RS_CF_USERS:
    case RS_CF_ITEMS:
    case RS_CF_DEDUP:
    case RS_CF_RECS:
        return KIND_BLOOM;
    case RS_CF_COOC:
        return KIND_COOC;
    default:
        return KIND_PLAIN;
    }
}

/* One options object carries both DB-wide and per-family settings; RocksDB
 * reads the DB-wide ones only from the object passed as db options. */
static rocksdb_options_t *make_opts(const rs_rocks_opts_t *o, rocksdb_cache_t *cache,
                                    enum cf_kind kind, int lz4) {
    rocksdb_options_t *opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(opt, 1);
    rocksdb_options_set_create_missing_column_families(opt, 1);
    rocksdb_options_increase_parallelism(opt, 2);
    rocksdb_options_set_max_background_jobs(opt, 2);
    rocksdb_options_set_keep_log_file_num(opt, 5);
    /* RocksDB's LOG keeps only its header (version, options): this
     * librocksdb is built with assertions, and once the LOG writer has hit
     * ENOSPC the next line logged aborts the process (measured: assertion in
     * WritableFileWriter via ErrorHandler's own message), which would turn a
     * full disk into a crash instead of a pause. At FATAL nothing is logged
     * after open (our own log reports state errors); the C API cannot
     * install another logger, and open fails without a LOG file. */
    rocksdb_options_set_info_log_level(opt, 4 /* FATAL_LEVEL */);
    int wb_mb = o->write_buffer_mb > 0 ? o->write_buffer_mb : 64;
    rocksdb_options_set_write_buffer_size(opt, (size_t)wb_mb << 20);
    rocksdb_options_set_max_write_buffer_number(opt, 2);
    /* one memtable budget for all families together (the state's RSS ceiling
     * matters more than flush frequency: flushes run on a background thread) */
    rocksdb_options_set_db_write_buffer_size(opt, (size_t)wb_mb << 22);
    rocksdb_options_set_level_compaction_dynamic_level_bytes(opt, 1);
    rocksdb_options_set_compression(opt, lz4 ? rocksdb_lz4_compression : rocksdb_no_compression);

    rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(t, cache);
    if (kind == KIND_BLOOM) { /* the table options own the policy */
        rocksdb_block_based_options_set_filter_policy(t, rocksdb_filterpolicy_create_bloom(10));
        /* A bloom over the memtable's whole keys too: most point reads on
         * the loop are misses (a user or event id not seen before), and
         * without it each one walks the skiplist (~5% of the loop thread at
         * 190k events/s on a fresh state). 2% of the memtable. */
        rocksdb_options_set_memtable_whole_key_filtering(opt, 1);
        rocksdb_options_set_memtable_prefix_bloom_size_ratio(opt, 0.02);
    }
    rocksdb_options_set_block_based_table_factory(opt, t); /* copies t */
    rocksdb_block_based_options_destroy(t);

    if (kind == KIND_COOC) /* the options own the operator */
        rocksdb_options_set_merge_operator(
            opt, rocksdb_mergeoperator_create(NULL, mo_destroy, mo_full, mo_partial,
                                              mo_delete_value, mo_name));
    return opt;
}

/* ---- compaction filters (rs_rocks_filter_fn_t) -------------------------- */

typedef struct filt_ctx {
    rs_rocks_filter_fn_t *fn;
    void *opaque;
} filt_ctx_t;

static unsigned char cf_filter(void *state, int level, const char *key, size_t klen,
                               const char *val, size_t vlen, char **new_value, size_t *new_len,
                               unsigned char *value_changed) {
    filt_ctx_t *c = state;
    *value_changed = 0;
    return c->fn(c->opaque, key, klen, val, vlen) ? 1 : 0;
}
static void cf_filter_destroy(void *state) {
    free(state);
}
static const char *cf_filter_name(void *state) {
    return "rs_filter";
}

/* Filters for the families that asked for one (read-write opens only). */
static void filters_make(rs_rocks_t *db, const rs_rocks_opts_t *o) {
    for (int c = 0; c < RS_CF__COUNT && !o->read_only; c++) {
        if (!o->filter[c] || db->filt[c]) continue;
        filt_ctx_t *ctx = rs_xmalloc(sizeof(*ctx));
        ctx->fn = o->filter[c];
        ctx->opaque = o->filter_opaque[c];
        db->filt[c] =
            rocksdb_compactionfilter_create(ctx, cf_filter_destroy, cf_filter, cf_filter_name);
        rocksdb_compactionfilter_set_ignore_snapshots(db->filt[c], 1);
    }
}

/* Opens the db with the given family names; returns NULL and *err on failure. */
static rocksdb_t *try_open(rs_rocks_t *db, const char *dir, const rs_rocks_opts_t *o,
                           const char **names, const int *ids, int n, int lz4, char **err) {
    rocksdb_options_t *dbopt = make_opts(o, db->cache, KIND_PLAIN, lz4);
    rocksdb_options_t **cfo = rs_xcalloc((size_t)n, sizeof(*cfo));
    filters_make(db, o);
    for (int i = 0; i < n; i++) {
        cfo[i] = make_opts(o, db->cache, ids[i] >= 0 ? kind_of(ids[i]) : KIND_PLAIN, lz4);
        if (ids[i] >= 0 && db->filt[ids[i]])
            rocksdb_options_set_compaction_filter(cfo[i], db->filt[ids[i]]);
    }
    rocksdb_t *r;
    if (o->read_only)
        r = rocksdb_open_for_read_only_column_families(
            dbopt, dir, n, names, (const rocksdb_options_t *const *)cfo, db->all, 0, err);
    else
        r = rocksdb_open_column_families(dbopt, dir, n, names,
                                         (const rocksdb_options_t *const *)cfo, db->all, err);
    for (int i = 0; i < n; i++) rocksdb_options_destroy(cfo[i]);
    free(cfo);
    rocksdb_options_destroy(dbopt);
    return r;
}

/* Opens dir into db's handle fields (db->read_only says how). On failure
 * every handle it made is released again and the fields are NULL. */
static int open_into(rs_rocks_t *db, const char *dir, const rs_rocks_opts_t *o, char *errstr,
                     size_t errstr_size) {
    int rc = RS_OK;
    char **existing = NULL;
    size_t nexisting = 0;
    const char **names = NULL;
    int *ids = NULL;

    if (!o->read_only && mkdir_p(dir)) {
        rc = rs_seterr(errstr, errstr_size, RS_EIO, "mkdir %s: %s", dir, strerror(errno));
        goto fail;
    }
    int cache_mb = o->cache_mb > 0 ? o->cache_mb : 8;
    db->cache = rocksdb_cache_create_lru((size_t)cache_mb << 20);

    /* Families already on disk; a fresh directory has none (error ignored). */
    {
        char *err = NULL;
        rocksdb_options_t *lo = rocksdb_options_create();
        existing = rocksdb_list_column_families(lo, dir, &nexisting, &err);
        rocksdb_options_destroy(lo);
        if (err) {
            if (o->read_only) {
                rc = take_err(err, errstr, errstr_size, RS_ESTATE_IO, "open read-only");
                goto fail;
            }
            rocksdb_free(err);
            nexisting = 0; /* existing is still a (empty) malloc'ed array */
        }
    }

    /* names[i] opens as handle all[i]; ids[i] is its rs_cf_t or -1. */
    int cap = 1 + RS_CF__COUNT + (int)nexisting, n = 0;
    names = rs_xcalloc((size_t)cap, sizeof(*names));
    ids = rs_xcalloc((size_t)cap, sizeof(*ids));
    db->all = rs_xcalloc((size_t)cap, sizeof(*db->all));
    names[n] = "default";
    ids[n++] = -1;
    for (int c = 0; c < RS_CF__COUNT; c++) {
        int found = !o->read_only;
        for (size_t e = 0; e < nexisting && !found; e++) found = !strcmp(existing[e], cf_names[c]);
        if (!found) {
            rs_info(SUBSYS, "read-only open: family %s absent, reads as empty", cf_names[c]);
            continue;
        }
        names[n] = cf_names[c];
        ids[n++] = c;
    }
    for (size_t e = 0; e < nexisting && !o->read_only; e++) {
        int known = !strcmp(existing[e], "default");
        for (int c = 0; c < RS_CF__COUNT && !known; c++) known = !strcmp(existing[e], cf_names[c]);
        if (known) continue;
        rs_warn(SUBSYS, "opening unknown column family %s (left untouched)", existing[e]);
        names[n] = existing[e];
        ids[n++] = -1;
    }

    char *err = NULL;
    int lz4 = !atomic_load(&lz4_unsupported);
    db->db = try_open(db, dir, o, names, ids, n, lz4, &err);
    if (!db->db && lz4 && err && strstr(err, "not linked")) {
        rs_warn(SUBSYS, "LZ4 not available in librocksdb (%s); using no compression", err);
        rocksdb_free(err);
        err = NULL;
        atomic_store(&lz4_unsupported, 1);
        lz4 = 0;
        db->db = try_open(db, dir, o, names, ids, n, lz4, &err);
    }
    if (!db->db) {
        rc = take_err(err, errstr, errstr_size, RS_ESTATE_IO, "open");
        goto fail;
    }
    db->nall = n;
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0) db->cf[ids[i]] = db->all[i];

    db->wopts = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(db->wopts, o->sync ? 1 : 0);
    db->ropts = rocksdb_readoptions_create();
    rs_debug(SUBSYS, "opened %s (%d families, %s, cache %d MB%s)", dir, n,
             lz4 ? "lz4" : "no compression", cache_mb, o->read_only ? ", read-only" : "");

fail:
    free(names);
    free(ids);
    if (existing) rocksdb_list_column_families_destroy(existing, nexisting);
    if (rc) {
        free(db->all), db->all = NULL;
        if (db->cache) rocksdb_cache_destroy(db->cache), db->cache = NULL;
    }
    return rc;
}

/* Releases every RocksDB object of db but keeps the struct (reopen). */
static void close_handles(rs_rocks_t *db) {
    /* Handles before the db: their destructors take the db mutex. */
    for (int i = db->nall - 1; i >= 0; i--)
        if (db->all[i]) rocksdb_column_family_handle_destroy(db->all[i]);
    if (db->db) rocksdb_close(db->db);
    if (db->ropts) rocksdb_readoptions_destroy(db->ropts);
    if (db->wopts) rocksdb_writeoptions_destroy(db->wopts);
    if (db->cache) rocksdb_cache_destroy(db->cache);
    free(db->all);
    db->db = NULL, db->ropts = NULL, db->wopts = NULL, db->cache = NULL, db->all = NULL;
    db->nall = 0;
    memset(db->cf, 0, sizeof(db->cf));
}

rs_err_t rs_rocks_open(rs_rocks_t **out, const char *dir, const rs_rocks_opts_t *o, char *errstr,
                       size_t errstr_size) {
    if (!out || !dir || !*dir || !o) return rs_seterr(errstr, errstr_size, RS_EARG, "bad args");
    *out = NULL;
    rs_rocks_t *db = rs_xcalloc(1, sizeof(*db));
    db->read_only = o->read_only;
    db->opts = *o;
    db->dir = rs_xstrdup(dir);
    const char *fault = getenv("RS_FAULT_ROCKS_WRITE");
    if (fault && *fault && !o->read_only) {
        db->fault_path = rs_xstrdup(fault);
        rs_warn(SUBSYS, "test hook RS_FAULT_ROCKS_WRITE: writes fail while %s exists", fault);
    }
    int rc = open_into(db, dir, o, errstr, errstr_size);
    if (rc) {
        rs_rocks_close(db);
        return rc;
    }
    *out = db;
    return RS_OK;
}

void rs_rocks_close(rs_rocks_t *db) {
    if (!db) return;
    close_handles(db);
    for (int c = 0; c < RS_CF__COUNT; c++)
        if (db->filt[c]) rocksdb_compactionfilter_destroy(db->filt[c]);
    free(db->dir);
    free(db->fault_path);
    free(db);
}

/* ---- reads --------------------------------------------------------------- */

rs_err_t rs_rocks_get(rs_rocks_t *db, rs_cf_t cf, const void *key, size_t klen, rs_buf_t *val,
                      char *errstr, size_t errstr_size) {
    if (!db || (unsigned)cf >= RS_CF__COUNT || !val || (!key && klen))
        return rs_seterr(errstr, errstr_size, RS_EARG, "bad args");
    if (!db->db) /* never "absent": the caller would take a stored row for a new one */
        return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "get: %s", closed_msg);
    if (!db->cf[cf]) return RS_ENOTFOUND;
    char *err = NULL;
    /* A pinned slice saves the malloc+copy of rocksdb_get_cf. */
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned_cf(db->db, db->ropts, db->cf[cf], key, klen, &err);
    if (err) {
        rocksdb_pinnableslice_destroy(ps);
        return take_err(err, errstr, errstr_size, RS_ESTATE_IO, "get");
    }
    if (!ps) return RS_ENOTFOUND;
    size_t vlen = 0;
    const char *v = rocksdb_pinnableslice_value(ps, &vlen);
    rs_buf_reset(val);
    rs_buf_append(val, v, vlen);
    rocksdb_pinnableslice_destroy(ps);
    return RS_OK;
}

/* ---- batches ------------------------------------------------------------- */

rs_rocks_batch_t *rs_rocks_batch_new(void) {
    rs_rocks_batch_t *b = rs_xcalloc(1, sizeof(*b));
    b->wb = rocksdb_writebatch_create();
    return b;
}

void rs_rocks_batch_destroy(rs_rocks_batch_t *b) {
    if (!b) return;
    rocksdb_writebatch_destroy(b->wb);
    free(b);
}

void rs_rocks_batch_clear(rs_rocks_batch_t *b) {
    if (!b) return;
    rocksdb_writebatch_clear(b->wb);
    b->db = NULL;
    b->bad = 0;
}

/* The handle for cf, binding the batch to db; NULL (and poison) on misuse. */
static rocksdb_column_family_handle_t *batch_cf(rs_rocks_batch_t *b, rs_rocks_t *db, rs_cf_t cf) {
    if (!b) return NULL;
    if (!cf_ok(db, cf) || (b->db && b->db != db)) {
        if (!b->bad)
            rs_error(SUBSYS, "batch used with %s; it will be refused",
                     !cf_ok(db, cf) ? "an invalid/absent column family" : "a second db");
        b->bad = 1;
        return NULL;
    }
    b->db = db;
    return db->cf[cf];
}

void rs_rocks_batch_put(rs_rocks_batch_t *b, rs_rocks_t *db, rs_cf_t cf, const void *k, size_t kl,
                        const void *v, size_t vl) {
    rocksdb_column_family_handle_t *h = batch_cf(b, db, cf);
    if (h) rocksdb_writebatch_put_cf(b->wb, h, k, kl, v, vl);
}

void rs_rocks_batch_merge(rs_rocks_batch_t *b, rs_rocks_t *db, rs_cf_t cf, const void *k, size_t kl,
                          const void *v, size_t vl) {
    rocksdb_column_family_handle_t *h = batch_cf(b, db, cf);
    if (h) rocksdb_writebatch_merge_cf(b->wb, h, k, kl, v, vl);
}

void rs_rocks_batch_delete(rs_rocks_batch_t *b, rs_rocks_t *db, rs_cf_t cf, const void *k,
                           size_t kl) {
    rocksdb_column_family_handle_t *h = batch_cf(b, db, cf);
    if (h) rocksdb_writebatch_delete_cf(b->wb, h, k, kl);
}

int rs_rocks_batch_count(const rs_rocks_batch_t *b) {
    return b ? rocksdb_writebatch_count((rocksdb_writebatch_t *)b->wb) : 0;
}

size_t rs_rocks_batch_bytes(const rs_rocks_batch_t *b) {
    size_t n = 0;
    if (b) rocksdb_writebatch_data((rocksdb_writebatch_t *)b->wb, &n);
    return n;
}

static int fault_active(const rs_rocks_t *db) {
    return db->fault_path && access(db->fault_path, F_OK) == 0;
}

/* Closes the broken handle and opens the db again read-write; if that
 * fails, read-only, so reads keep working until the next attempt. */
static int reopen(rs_rocks_t *db, char *errstr, size_t errstr_size) {
    if (db->n_iters)
        return rs_seterr(errstr, errstr_size, RS_ESTATE_IO,
                         "cannot reopen after a failed write: %d iterator(s) open", db->n_iters);
    close_handles(db);
    rs_rocks_opts_t o = db->opts;
    o.read_only = 0;
    char rw[512], ro[256];
    int rc;
    if (fault_active(db))
        rc = rs_seterr(rw, sizeof(rw), RS_ESTATE_IO,
                       "open: IO error: injected by RS_FAULT_ROCKS_WRITE (%s exists)",
                       db->fault_path);
    else
        rc = open_into(db, db->dir, &o, rw, sizeof(rw));
    if (rc == RS_OK) {
        db->ro_fallback = 0;
        return RS_OK;
    }
    o.read_only = 1;
    db->ro_fallback = open_into(db, db->dir, &o, ro, sizeof(ro)) == RS_OK;
    if (!db->ro_fallback) rs_error(SUBSYS, "%s cannot even be opened read-only: %s", db->dir, ro);
    return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "reopen after a failed write: %s", rw);
}

/* After a reopen: was the failed batch (which RocksDB may have logged
 * before the error) applied? Decided by the sequence number, which grows by
 * exactly the batch's entry count per applied write. 1: yes, 0: no. */
static int failed_applied(rs_rocks_t *db, const rs_rocks_batch_t *b, char *errstr,
                          size_t errstr_size) {
    uint64_t seq = rocksdb_get_latest_sequence_number(db->db);
    if (seq == db->seq_failed) return 0;
    int n = rs_rocks_batch_count(b);
    if (b == db->failed_b && n == db->failed_n && seq == db->seq_failed + (uint64_t)n) return 1;
    return rs_seterr(errstr, errstr_size, RS_ESTATE_IO,
                     "after reopening, the last sequence number is %llu where %llu (or %llu "
                     "with the failed batch) was expected: not writing",
                     (unsigned long long)seq, (unsigned long long)db->seq_failed,
                     (unsigned long long)(db->seq_failed + (uint64_t)db->failed_n));
}

rs_err_t rs_rocks_write(rs_rocks_t *db, rs_rocks_batch_t *b, char *errstr, size_t errstr_size) {
    if (!db || !b) return rs_seterr(errstr, errstr_size, RS_EARG, "bad args");
    if (b->bad || (b->db && b->db != db))
        return rs_seterr(errstr, errstr_size, RS_EARG,
                         "batch was filled with an invalid column family or for another db");
    if (db->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "db is read-only");
    if (db->broken) {
        int rc = reopen(db, errstr, errstr_size);
        if (rc) return rc;
        rc = failed_applied(db, b, errstr, errstr_size);
        if (rc < 0) return rc; /* stays broken: an operator must look */
        db->broken = 0;
        if (rc == 1) {
            rs_warn(SUBSYS,
                    "reopened %s: the failed write had reached the WAL, not applying it "
                    "twice",
                    db->dir);
            return RS_OK;
        }
        rs_info(SUBSYS, "reopened %s after a failed write", db->dir);
    }
    uint64_t seq0 = rocksdb_get_latest_sequence_number(db->db);
    char *err = NULL;
    int injected = fault_active(db);
    if (!injected) rocksdb_write(db->db, db->wopts, b->wb, &err);
    if (injected || err) {
        /* RocksDB refuses every later write after a WAL/flush I/O error until
         * the db is reopened (7.8 has no Resume() in the C API) */
        db->broken = 1;
        db->seq_failed = seq0;
        db->failed_b = b;
        db->failed_n = rs_rocks_batch_count(b);
        if (injected)
            return rs_seterr(errstr, errstr_size, RS_ESTATE_IO,
                             "write: IO error: No space left on device (injected: %s exists)",
                             db->fault_path);
        return take_err(err, errstr, errstr_size, RS_ESTATE_IO, "write");
    }
    return RS_OK;
}

/* ---- iterators ----------------------------------------------------------- */

static void iter_check(rs_rocks_iter_t *it) {
    it->valid = 0;
    if (!it->it || !rocksdb_iter_valid(it->it)) return;
    size_t kl = 0;
    const char *k = rocksdb_iter_key(it->it, &kl);
    it->valid = kl >= it->plen && (!it->plen || !memcmp(k, it->prefix, it->plen));
}

rs_rocks_iter_t *rs_rocks_iter_new(rs_rocks_t *db, rs_cf_t cf, const void *prefix, size_t plen) {
    if (!db || (unsigned)cf >= RS_CF__COUNT || (!prefix && plen)) return NULL;
    rs_rocks_iter_t *it = rs_xcalloc(1, sizeof(*it));
    it->closed = !db->db;
    if (!db->cf[cf]) return it; /* absent family (read-only) or closed db: empty */
    it->db = db;
    db->n_iters++;
    it->ro = rocksdb_readoptions_create();
    it->plen = plen;
    if (plen) {
        it->prefix = rs_xmalloc(plen);
        memcpy(it->prefix, prefix, plen);
        /* Smallest key above every key with the prefix: drop trailing 0xff
         * bytes and increment the last one; none if the prefix is all 0xff. */
        size_t ul = plen;
        while (ul && it->prefix[ul - 1] == 0xff) ul--;
        if (ul) {
            it->upper = rs_xmalloc(ul);
            memcpy(it->upper, it->prefix, ul);
            it->upper[ul - 1]++;
            rocksdb_readoptions_set_iterate_upper_bound(it->ro, (const char *)it->upper, ul);
        }
    }
    it->it = rocksdb_create_iterator_cf(db->db, it->ro, db->cf[cf]);
    if (plen)
        rocksdb_iter_seek(it->it, (const char *)it->prefix, plen);
    else
        rocksdb_iter_seek_to_first(it->it);
    iter_check(it);
    return it;
}

int rs_rocks_iter_valid(rs_rocks_iter_t *it) {
    return it && it->valid;
}

void rs_rocks_iter_next(rs_rocks_iter_t *it) {
    if (!it || !it->valid) return;
    rocksdb_iter_next(it->it);
    iter_check(it);
}

const void *rs_rocks_iter_key(rs_rocks_iter_t *it, size_t *len) {
    if (!it || !it->valid) {
        if (len) *len = 0;
        return NULL;
    }
    size_t l = 0;
    const char *k = rocksdb_iter_key(it->it, &l);
    if (len) *len = l;
    return k;
}

const void *rs_rocks_iter_value(rs_rocks_iter_t *it, size_t *len) {
    if (!it || !it->valid) {
        if (len) *len = 0;
        return NULL;
    }
    size_t l = 0;
    const char *v = rocksdb_iter_value(it->it, &l);
    if (len) *len = l;
    return v;
}

rs_err_t rs_rocks_iter_status(rs_rocks_iter_t *it, char *errstr, size_t errstr_size) {
    if (!it) return rs_seterr(errstr, errstr_size, RS_EARG, "no iterator");
    if (it->closed) return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "iterate: %s", closed_msg);
    if (!it->it) return RS_OK;
    char *err = NULL;
    rocksdb_iter_get_error(it->it, &err);
    if (err) return take_err(err, errstr, errstr_size, RS_ESTATE_IO, "iterate");
    return RS_OK;
}

void rs_rocks_iter_destroy(rs_rocks_iter_t *it) {
    if (!it) return;
    if (it->db) it->db->n_iters--;
    if (it->it) rocksdb_iter_destroy(it->it);
    if (it->ro) rocksdb_readoptions_destroy(it->ro); /* after the iterator: it reads ro */
    free(it->prefix);
    free(it->upper);
    free(it);
}

/* ---- properties, flush, compact ------------------------------------------ */

static uint64_t prop_u64(rs_rocks_t *db, rocksdb_column_family_handle_t *h, const char *name) {
    char *v = rocksdb_property_value_cf(db->db, h, name);
    if (!v) return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    int ok = end != v && errno == 0;
    rocksdb_free(v);
    return ok ? (uint64_t)x : 0;
}

uint64_t rs_rocks_state_bytes(rs_rocks_t *db) {
    if (!db) return 0;
    uint64_t sum = 0;
    for (int i = 0; i < db->nall; i++)
        sum += prop_u64(db, db->all[i], "rocksdb.total-sst-files-size") +
               prop_u64(db, db->all[i], "rocksdb.cur-size-all-mem-tables");
    return sum;
}

uint64_t rs_rocks_property_int(rs_rocks_t *db, rs_cf_t cf, const char *name) {
    if (!cf_ok(db, cf) || !name) return 0;
    return prop_u64(db, db->cf[cf], name);
}

rs_err_t rs_rocks_flush(rs_rocks_t *db, char *errstr, size_t errstr_size) {
    if (!db) return rs_seterr(errstr, errstr_size, RS_EARG, "no db");
    if (db->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "db is read-only");
    if (!db->db || db->ro_fallback)
        return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "flush: %s", closed_msg);
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    int rc = RS_OK;
    for (int i = 0; i < db->nall && rc == RS_OK; i++) {
        char *err = NULL;
        rocksdb_flush_cf(db->db, fo, db->all[i], &err);
        if (err) rc = take_err(err, errstr, errstr_size, RS_ESTATE_IO, "flush");
    }
    rocksdb_flushoptions_destroy(fo);
    return rc;
}

rs_err_t rs_rocks_compact_cf(rs_rocks_t *db, rs_cf_t cf, char *errstr, size_t errstr_size) {
    if (!db || (unsigned)cf >= RS_CF__COUNT)
        return rs_seterr(errstr, errstr_size, RS_EARG, "bad args");
    if (db->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "db is read-only");
    if (!db->db || !db->cf[cf]) return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "db not open");
    /* default options: memtables are flushed first, and the bottommost level
     * is compacted too when the family has a compaction filter */
    rocksdb_compact_range_cf(db->db, db->cf[cf], NULL, 0, NULL, 0);
    return RS_OK;
}

rs_err_t rs_rocks_set_option(rs_rocks_t *db, rs_cf_t cf, const char *name, const char *value,
                             char *errstr, size_t errstr_size) {
    if (!db || (unsigned)cf >= RS_CF__COUNT || !name || !value)
        return rs_seterr(errstr, errstr_size, RS_EARG, "bad args");
    if (db->read_only) return rs_seterr(errstr, errstr_size, RS_ESTATE, "db is read-only");
    if (!db->db || !db->cf[cf]) return rs_seterr(errstr, errstr_size, RS_ESTATE_IO, "db not open");
    char *err = NULL;
    const char *k[1] = {name}, *v[1] = {value};
    rocksdb_set_options_cf(db->db, db->cf[cf], 1, k, v, &err);
    if (err) return take_err(err, errstr, errstr_size, RS_ECONF, "set option");
    return RS_OK;
}

rs_err_t rs_rocks_compact(rs_rocks_t *db) {
    if (!db) return RS_EARG;
    if (db->read_only) return RS_ESTATE;
    if (!db->db || db->ro_fallback) return RS_ESTATE_IO;
    for (int i = 0; i < db->nall; i++)
        rocksdb_compact_range_cf(db->db, db->all[i], NULL, 0, NULL, 0);
    return RS_OK;
}
