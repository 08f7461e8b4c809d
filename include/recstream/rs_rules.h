/* rs_rules.h -- item association rules A -> B from the co-occurrence counts
 * (SPEC F6, issue 4 item 2): "customers who interacted with A also
 * interacted with B: 80% (lift 4.1, support 12)".
 *
 * With c(A,B) the co-occurrence of the pair in pair units (the stored count
 * divided by rs_state_pair_scale(): one user who had A and B next to each
 * other adds 1), n(X) the item's weight (rs_item_t.weight: the users it is
 * new to) and N the total weight (rs_state_total_weight):
 *   support    = min(1, c(A,B) / N)
 *   confidence = min(1, c(A,B) / n(A))
 *   lift       = confidence / (n(B) / N)
 * so "80%" reads "80% of the users of A also had B nearby in their history".
 * The caps only matter when pairs are weighted by event type
 * (cooc.pair.weight = type) or a user comes back to an item after it left
 * the co-occurrence window: then c(A,B) can exceed n(A). Lift uses the capped
 * confidence so the printed numbers agree.
 *
 * Ownership: results are plain values; item pointers belong to the state.
 * Thread: loop thread (reads the state; applies buffered increments). */
#ifndef RS_RULES_H
#define RS_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "rs_buf.h"
#include "rs_conf.h"
#include "rs_state.h"

typedef struct rs_rule {
    uint32_t item;     /* B, the consequent (item idx) */
    double count;      /* c(A,B), co-occurrence in pair units */
    double support;    /* min(1, c(A,B) / N) */
    double confidence; /* min(1, c(A,B) / n(A)) */
    double lift;       /* confidence / (n(B) / N); 0 if n(B) is 0 */
} rs_rule_t;

typedef struct rs_rules_opts {
    double min_count;      /* minimum c(A,B) (absolute support, pair units); default 2 */
    double min_support;    /* minimum support as a fraction of N; default 0 */
    double min_confidence; /* default 0 */
    double min_lift;       /* default 0 */
} rs_rules_opts_t;

/* The defaults above. */
void rs_rules_opts_default(rs_rules_opts_t *o);
/* Thresholds from the configuration (rules.min.*). */
void rs_rules_opts_from_conf(rs_rules_opts_t *o, const rs_conf_t *conf);

/* Best rules with antecedent `a`, written to out[0..max) best first:
 * confidence descending, then lift descending, then item idx ascending
 * (equal state gives equal lists). One pass over a's co-occurrence row with
 * a bounded heap of `max`: O(row * log max), no allocation. o NULL = defaults.
 * Returns the number written. */
size_t rs_rules_for_item(rs_state_t *st, const rs_item_t *a, const rs_rules_opts_t *o,
                         rs_rule_t *out, size_t max);

/* Appends the rule as one line of text (no newline), e.g.
 *   customers who interacted with A also interacted with B: 80% (lift 4.1, support 12)
 * where support is the absolute count c(A,B) (one decimal if not whole).
 * Long ids are cut at 100 bytes. */
void rs_rule_format(rs_state_t *st, const rs_item_t *a, const rs_rule_t *r, rs_buf_t *out);

#endif
