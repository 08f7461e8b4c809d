/* rs_rocks.h -- recstream's only door to RocksDB (src/wrap/rs_rocks.c).
 * No rocksdb_* type appears here.
 *
 * Column families (fixed): users, items, cooc, meta, dedup, recs. The cooc
 * family has a merge operator over "sparse rows": a value is a packed array
 * of (uint32 LE id, uint32 LE count) pairs sorted ascending by id; merging
 * sums the counts of equal ids (saturating at UINT32_MAX) and keeps the
 * result sorted. Other families use plain puts/deletes. An operand (or stored
 * value) that is not a valid row (length not a multiple of 8, ids not strictly
 * ascending) is skipped with a warning: the merge still succeeds, so one bad
 * write cannot make a key unreadable or stall compaction.
 *
 * Writes go through a batch: rs_rocks_write() applies it atomically (state
 * deltas and consumed offsets together: SPEC F7). A batch records column
 * family handles, so it is bound to the db it was first filled for until
 * rs_rocks_batch_clear(); writing it to another db fails with RS_EARG.
 * Ownership: the caller owns batches and iterators and destroys them before
 * rs_rocks_close(). Thread: one thread per handle (the loop thread). */
#ifndef RS_ROCKS_H
#define RS_ROCKS_H

#include <stddef.h>
#include <stdint.h>

#include "rs_buf.h"
#include "rs_err.h"

typedef enum rs_cf {
    RS_CF_USERS = 0,
    RS_CF_ITEMS,
    RS_CF_COOC,
    RS_CF_META,
    RS_CF_DEDUP,
    RS_CF_RECS,
    RS_CF__COUNT
} rs_cf_t;

const char *rs_cf_name(rs_cf_t cf);

/* Compaction filter (retention): RocksDB calls it on its background
 * compaction threads, several at once, for each plain value of the family
 * that a compaction rewrites (never for merge operands). Return 1 to drop
 * the entry (RocksDB turns it into a deletion, so no older version of the
 * key resurfaces), 0 to keep it. It must be thread-safe, must not block for
 * long and must not call rs_rocks. Snapshots are ignored (we use none). */
typedef int(rs_rocks_filter_fn_t)(void *opaque, const void *key, size_t klen, const void *val,
                                  size_t vlen);

typedef struct rs_rocks_opts {
    int sync;            /* fsync WAL per write */
    int cache_mb;        /* block cache (shared by all CFs); <= 0: 8 */
    int write_buffer_mb; /* memtable size per CF; <= 0: 64 */
    int read_only;       /* open read-only (inspect while a daemon runs: no) */
    /* compaction filter per family, NULL = none (ignored read-only); the
     * opaque must outlive the handle */
    rs_rocks_filter_fn_t *filter[RS_CF__COUNT];
    void *filter_opaque[RS_CF__COUNT];
} rs_rocks_opts_t;

typedef struct rs_rocks rs_rocks_t;
typedef struct rs_rocks_batch rs_rocks_batch_t;
typedef struct rs_rocks_iter rs_rocks_iter_t;

/* Creates the directory and missing column families. Read-only: the db must
 * exist; families it lacks read as empty; writes, flush and compact give
 * RS_ESTATE. */
rs_err_t rs_rocks_open(rs_rocks_t **out, const char *dir, const rs_rocks_opts_t *opts, char *errstr,
                       size_t errstr_size);
void rs_rocks_close(rs_rocks_t *db); /* NULL-safe */

/* Point read. RS_ENOTFOUND if absent; value replaces val's content. */
rs_err_t rs_rocks_get(rs_rocks_t *db, rs_cf_t cf, const void *key, size_t klen, rs_buf_t *val,
                      char *errstr, size_t errstr_size);

rs_rocks_batch_t *rs_rocks_batch_new(void);
void rs_rocks_batch_destroy(rs_rocks_batch_t *b); /* NULL-safe */
void rs_rocks_batch_clear(rs_rocks_batch_t *b);
void rs_rocks_batch_put(rs_rocks_batch_t *b, rs_rocks_t *db, rs_cf_t cf, const void *k, size_t kl,
                        const void *v, size_t vl);
void rs_rocks_batch_merge(rs_rocks_batch_t *b, rs_rocks_t *db, rs_cf_t cf, const void *k, size_t kl,
                          const void *v, size_t vl);
void rs_rocks_batch_delete(rs_rocks_batch_t *b, rs_rocks_t *db, rs_cf_t cf, const void *k,
                           size_t kl);
int rs_rocks_batch_count(const rs_rocks_batch_t *b);
size_t rs_rocks_batch_bytes(const rs_rocks_batch_t *b);
/* Atomic apply. On error nothing was applied. The batch is not cleared.
 * RS_EARG if the batch was filled with an invalid family or another db.
 * After a failed write (RS_ESTATE_IO) the next call first closes and
 * reopens the db in place, since RocksDB refuses writes after an I/O error
 * until then; if the failed batch turns out to have been logged, writing
 * that same batch again returns RS_OK without applying it twice. That call
 * must not overlap any other use of the handle (other threads, open
 * iterators: with iterators open it fails and the next call retries). While
 * the reopen keeps failing the db is open read-only (reads work) or, if even
 * that fails, closed: reads return RS_ESTATE_IO, never RS_ENOTFOUND.
 * Test hook: env RS_FAULT_ROCKS_WRITE=<path> at open makes writes (and the
 * read-write reopen) fail with an injected "No space left on device" while
 * <path> exists. */
rs_err_t rs_rocks_write(rs_rocks_t *db, rs_rocks_batch_t *b, char *errstr, size_t errstr_size);

/* Forward iteration over keys starting with prefix (plen may be 0: all).
 * NULL only for a NULL db or an invalid cf. Key/value pointers stay valid
 * until the next rs_rocks_iter_next() or rs_rocks_iter_destroy(). */
rs_rocks_iter_t *rs_rocks_iter_new(rs_rocks_t *db, rs_cf_t cf, const void *prefix, size_t plen);
int rs_rocks_iter_valid(rs_rocks_iter_t *it);
void rs_rocks_iter_next(rs_rocks_iter_t *it);
const void *rs_rocks_iter_key(rs_rocks_iter_t *it, size_t *len);
const void *rs_rocks_iter_value(rs_rocks_iter_t *it, size_t *len);
/* After the loop: RS_OK or the iteration error. */
rs_err_t rs_rocks_iter_status(rs_rocks_iter_t *it, char *errstr, size_t errstr_size);
void rs_rocks_iter_destroy(rs_rocks_iter_t *it); /* NULL-safe */

/* Sum of live SST files + memtables, bytes (SPEC bench "state_bytes"). */
uint64_t rs_rocks_state_bytes(rs_rocks_t *db);
/* Integer property (e.g. "rocksdb.estimate-num-keys") for one CF; 0 if unknown. */
uint64_t rs_rocks_property_int(rs_rocks_t *db, rs_cf_t cf, const char *name);
/* Flush memtables to SST (tests, clean shutdown). */
rs_err_t rs_rocks_flush(rs_rocks_t *db, char *errstr, size_t errstr_size);
/* Full manual compaction of every family (tests, maintenance); blocks. */
rs_err_t rs_rocks_compact(rs_rocks_t *db);
/* Full manual compaction of one family (memtables flushed first; runs its
 * compaction filter over every record, bottommost level included); blocks
 * for as long as the rewrite takes. */
rs_err_t rs_rocks_compact_cf(rs_rocks_t *db, rs_cf_t cf, char *errstr, size_t errstr_size);
/* Changes a mutable RocksDB option of one family (rocksdb::DB::SetOptions,
 * e.g. "periodic_compaction_seconds"). RS_ESTATE read-only. */
rs_err_t rs_rocks_set_option(rs_rocks_t *db, rs_cf_t cf, const char *name, const char *value,
                             char *errstr, size_t errstr_size);

/* Merge two sparse rows (exposed for tests and for in-memory use). Appends the
 * merged row to out. Rows with odd lengths (not multiples of 8) or ids not
 * strictly ascending are invalid: returns RS_EARG and out is unchanged. */
rs_err_t rs_sparse_row_merge(const void *a, size_t alen, const void *b, size_t blen, rs_buf_t *out);

#endif
