/* rs_rules.h -- item association rules A -> B from the co-occurrence counts
 * (SPEC F6, issue 4 item 2): "customers who interacted with A also
 * interacted with B: 80% (lift 4.1, support 12)".
 *
 * With cnt(A,B) the weighted co-occurrence count of the pair (row A, entry B),
 * n(X) the item's weight (sum of event-type weights of its events) and N the
 * total weight of all events (rs_state_total_weight):
 *   support    = cnt(A,B) / N
 *   confidence = min(1, cnt(A,B) / n(A))
 *   lift       = confidence / (n(B) / N)
 * Counts are weighted by event type (weight.<type>), so "interacted" means
 * the same thing the similarity and scoring use. Confidence is capped because
 * a pair can be counted from both items' events and so exceed n(A); lift is
 * computed from the capped confidence so the printed numbers agree.
 *
 * Ownership: results are plain values; item pointers belong to the state.
 * Thread: loop thread (reads the state; applies buffered increments). */
#ifndef RS_RULES_H
#define RS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "rs_buf.h"
#include "rs_state.h"

typedef struct rs_rule {
    uint32_t item;     /* B, the consequent (item idx) */
    uint32_t count;    /* cnt(A,B), weighted co-occurrence count */
    double support;    /* cnt(A,B) / N */
    double confidence; /* min(1, cnt(A,B) / n(A)) */
    double lift;       /* confidence / (n(B) / N); 0 if n(B) is 0 */
} rs_rule_t;

typedef struct rs_rules_opts {
    uint32_t min_count;    /* minimum cnt(A,B) (absolute support); default 2 */
    double min_support;    /* minimum support as a fraction of N; default 0 */
    double min_confidence; /* default 0 */
    double min_lift;       /* default 0 */
} rs_rules_opts_t;

/* The defaults above. */
void rs_rules_opts_default(rs_rules_opts_t *o);

/* Best rules with antecedent `a`, written to out[0..max) best first:
 * confidence descending, then lift descending, then item idx ascending
 * (equal state gives equal lists). One pass over a's co-occurrence row with
 * a bounded heap of `max`: O(row * log max), no allocation. o NULL = defaults.
 * Returns the number written. */
size_t rs_rules_for_item(rs_state_t *st, const rs_item_t *a, const rs_rules_opts_t *o,
                         rs_rule_t *out, size_t max);

/* Appends the rule as one line of text (no newline), e.g.
 *   customers who interacted with A also interacted with B: 80% (lift 4.1, support 12)
 * where support is the absolute count cnt(A,B). Long ids are cut at 100 bytes. */
void rs_rule_format(rs_state_t *st, const rs_item_t *a, const rs_rule_t *r, rs_buf_t *out);

#endif
