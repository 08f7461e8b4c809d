/* rs_score.h -- top-K recommendations for one user from the state.
 *
 * Candidates are the top-N neighbours of the user's most recent items
 * (seeds), each seed weighted by recency (rec.recency: 1/(1+i) or decay^i)
 * and optionally by its event type; a candidate's score is the weighted sum
 * of its similarities. Items the user has seen / purchased, hidden items
 * (out of stock, blocklisted, deleted from the catalog) and items over the
 * per-category cap (rec.diversity.max) are left out. If fewer than K
 * remain, the most popular items of the category of the user's latest item
 * fill the list, then the most popular overall (cold start). Every item
 * carries why it is there. Ties break by item index, so equal state gives
 * equal lists.
 *
 * Ownership: the scorer owns scratch memory sized to the item count.
 * Thread: loop thread (reads the state). */
#ifndef RS_SCORE_H
#define RS_SCORE_H

#include <stddef.h>
#include <stdint.h>

#include "rs_conf.h"
#include "rs_state.h"

/* because_type values beyond the event types */
#define RS_BECAUSE_TRENDING 253 /* popular and trending (rec.trending.min) */
#define RS_BECAUSE_CATEGORY 254 /* popular in category `because` (interned name) */
#define RS_BECAUSE_POPULAR  255 /* popular overall; because = UINT32_MAX */

typedef struct rs_scored {
    uint32_t item;
    float score;
    uint32_t because;     /* seed item idx that contributed most, a category, or UINT32_MAX */
    uint8_t because_type; /* rs_evtype_t of that seed, or RS_BECAUSE_* */
} rs_scored_t;

typedef struct rs_scorer rs_scorer_t;

/* Optional extra exclusion (e.g. eval excludes every item the user touched). */
typedef int(rs_exclude_fn_t)(void *opaque, uint32_t item);

rs_scorer_t *rs_scorer_new(const rs_conf_t *conf);
void rs_scorer_destroy(rs_scorer_t *sc); /* NULL-safe */
void rs_scorer_set_exclude(rs_scorer_t *sc, rs_exclude_fn_t *fn, void *opaque);

/* Fills out[0..k) and returns how many; *strategy gets a static string
 * ("item-knn", "popular" or "item-knn+popular"). */
size_t rs_score_user(rs_scorer_t *sc, rs_state_t *st, const rs_user_t *u, rs_scored_t *out,
                     size_t k, const char **strategy);

/* Identity of a list (items and order, not scores): emit only on change. */
uint64_t rs_score_list_hash(const rs_scored_t *l, size_t n);

#endif
