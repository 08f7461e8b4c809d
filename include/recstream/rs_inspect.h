/* rs_inspect.h -- read-only views of one user or one item (SPEC F16), as JSON
 * (HTTP API, `recstream inspect --json`) or short text (the CLI).
 *
 * User: profile (counts per type, first/last event time, sessions,
 * purchases, monetary, recent items, purchased items, rec_version) and the
 * recommendations the engine would give now (rs_score_user with rec.k, each
 * with score and reason) with the strategy.
 * Item: catalog fields (category, brand, price, attributes, hidden flags),
 * counts per type, conversion rate (purchases / views, null without
 * views), weight, decayed popularity at the state's event-time "now", first/
 * last event time, top neighbours (similarity and co-occurrence count) and
 * association rules (rs_rules.h).
 *
 * JSON shapes (times are ms since epoch in event time):
 *   {"user_id":s,"counts":{"view":n,...all 8 types},"events":n,"first_ts":n,
 *    "last_ts":n,"sessions":n,"purchases":n,"monetary":x,"profile":{...},
 *    "segments":{"rfm":s,"r":n,"f":n,"m":n,"cluster":s},   ("" = none)
 *    "alerts":{"fired":n,"open":[rule...]},                (episodes still open)
 *    "recent":[{"item_id":s,"type":s,"ts":n}],"purchased":[s],"rec_version":n,
 *    "k":n,"strategy":s,"recommendations":[{"item_id":s,"score":x,"reason":s}]}
 *   {"item_id":s,"idx":n,"category":s|null,"brand":s|null,"price":x|null,
 *    "attributes":s|null,"out_of_stock":b,"blocked":b,"deleted":b,
 *    "counts":{...},"events":n,"conversion_rate":x|null,
 *    "weight":n,"total_weight":n,"popularity":x,"popularity_at":n,"first_ts":n,
 *    "last_ts":n,"cooc_entries":n,"similarity":"cosine"|"llr",
 *    "neighbors":[{"item_id":s,"similarity":x,"count":x}],
 *    "rules":[{"item_id":s,"count":x,"support":x,"confidence":x,"lift":x,"text":s}]}
 * Co-occurrence counts are in pair units (see rs_rules.h), so they can be
 * fractional when pairs are weighted by position.
 *
 * Reading may load a user profile into the state's cache and rebuild an
 * item's cached top-N list; it never changes what is committed.
 * Ownership: output is appended to the caller's buffer. Thread: loop thread
 * (or the only thread, for a read-only state). */
#ifndef RS_INSPECT_H
#define RS_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "rs_buf.h"
#include "rs_conf.h"
#include "rs_err.h"
#include "rs_http.h"
#include "rs_rules.h"
#include "rs_score.h"
#include "rs_state.h"

typedef enum { RS_INSPECT_JSON = 0, RS_INSPECT_TEXT } rs_inspect_fmt_t;
typedef enum { RS_INSPECT_USER = 0, RS_INSPECT_ITEM } rs_inspect_kind_t;

/* Parts of the JSON view (the text view is always complete). */
typedef enum {
    RS_INSPECT_VIEW_FULL = 0, /* everything above */
    RS_INSPECT_VIEW_RECS,     /* user_id, rec_version, k, strategy, recommendations */
    RS_INSPECT_VIEW_PROFILE,  /* the user view without k, strategy and recommendations */
    RS_INSPECT_VIEW_SIMILAR   /* item_id, similarity, neighbors */
} rs_inspect_view_t;

typedef struct rs_inspect_opts {
    rs_inspect_fmt_t fmt;   /* default JSON */
    rs_inspect_view_t view; /* default FULL */
    uint32_t max_neighbors; /* default 20; at most rec.neighbors are kept per item */
    uint32_t max_rules;     /* default 10; capped at RS_INSPECT_MAX_RULES */
    rs_rules_opts_t rules;  /* rs_rules_opts_default() */
} rs_inspect_opts_t;

#define RS_INSPECT_MAX_RULES 1000

void rs_inspect_opts_default(rs_inspect_opts_t *o);
/* Applies a query string "neighbors=N&rules=N&min_count=X&min_support=X&
 * min_confidence=X&min_lift=X" (raw; unknown keys ignored). RS_EARG on a bad
 * value (o is then partly updated). */
rs_err_t rs_inspect_opts_query(rs_inspect_opts_t *o, const char *query);

/* Appends the user's view to out. sc: a scorer to reuse, or NULL (a
 * temporary one is made). o NULL = defaults. RS_ENOTFOUND if the user is
 * unknown (nothing appended). */
rs_err_t rs_inspect_user(rs_state_t *st, const rs_conf_t *conf, rs_scorer_t *sc, const char *id,
                         size_t len, const rs_inspect_opts_t *o, rs_buf_t *out);
/* Appends the item's view to out. RS_ENOTFOUND if the item is unknown. */
rs_err_t rs_inspect_item(rs_state_t *st, const rs_conf_t *conf, const char *id, size_t len,
                         const rs_inspect_opts_t *o, rs_buf_t *out);

/* The HTTP read API: answers GET /users/<id> or /items/<id>. `rest` is the
 * raw path after the prefix (the percent-encoded id), `query` the raw query
 * (options as rs_inspect_opts_query). Sets resp to 200 + JSON, 400 (empty or
 * badly encoded id, bad option) or 404 with {"error":...,"user_id"|"item_id":s}. */
void rs_inspect_http(rs_state_t *st, const rs_conf_t *conf, rs_scorer_t *sc, rs_inspect_kind_t kind,
                     const char *rest, const char *query, rs_http_resp_t *resp);

/* The versioned read API: answers GET /v1/users/<id>/recommendations,
 * /v1/users/<id>/profile and /v1/items/<id>/similar. `rest` is the raw path
 * after "/v1/" ("users/<id>/profile", the id percent-encoded; a '/' in an id
 * is %2F). 404 {"error":"no such route"} for any other shape. */
void rs_inspect_http_v1(rs_state_t *st, const rs_conf_t *conf, rs_scorer_t *sc, const char *rest,
                        const char *query, rs_http_resp_t *resp);

/* Percent-decoding of n bytes ('+' is kept: this is for paths); RS_EARG on a
 * '%' not followed by two hex digits. Encoding keeps [A-Za-z0-9-._~]. */
rs_err_t rs_inspect_pct_decode(const char *in, size_t n, rs_buf_t *out);
void rs_inspect_pct_encode(const char *in, size_t n, rs_buf_t *out);

#endif
