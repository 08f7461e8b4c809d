/* rs_catalog.h -- the optional item catalog input (SPEC F3): records of the
 * compacted `topic.items` topic (schemas/item.avsc, key = item id) applied
 * to the pipeline's state with rs_state_item_meta().
 *
 *   value present -> decode (input.format, AUTO by default) -> check -> apply
 *   value empty   -> tombstone: the item (key) is hidden and forgotten
 *
 * Every record advances its partition's stored offset in the state, so the
 * catalog's offsets commit in the same WriteBatch as the metadata they
 * produced (SPEC F7), exactly like the events'. Bad records go to the
 * pipeline's dead-letter sink (rs_pipeline_reject) with one of the event
 * reasons: malformed (cannot be decoded, or a NUL byte in the attributes),
 * oversize (record above validate.max.bytes, or attributes above the
 * state's 65535-byte limit), missing_field (no item id in key or value), bad_id (empty, longer than
 * validate.max.id.len, or key and item_id differ), negative_price,
 * bad_price (not finite or above validate.max.price). A negative stock is
 * taken as 0 (out of stock), not rejected: inventory systems report
 * oversold items that way.
 *
 * Ownership: borrows the pipeline, conf and stats (all must outlive it).
 * Thread: loop thread, like the pipeline. */
#ifndef RS_CATALOG_H
#define RS_CATALOG_H

#include "rs_conf.h"
#include "rs_err.h"
#include "rs_kafka.h"
#include "rs_metrics.h"
#include "rs_pipeline.h"
#include "rs_validate.h"

typedef struct rs_catalog rs_catalog_t;

rs_err_t rs_catalog_new(rs_catalog_t **out, rs_pipeline_t *p, const rs_conf_t *conf,
                        rs_stats_t *stats, char *errstr, size_t errstr_size);
void rs_catalog_destroy(rs_catalog_t *cat); /* NULL-safe */

/* One consumed catalog record (payload NULL or len 0 = tombstone). Counts
 * it in stats->catalog_records; returns RS_REJ_NONE if it was applied, else
 * the reason it was dead-lettered with (also counted in catalog_rejected). */
rs_reject_t rs_catalog_process(rs_catalog_t *cat, const rs_msg_t *m);

#endif
