/* rs_eval.h -- prequential (test-then-train) evaluation (SPEC F14).
 *
 * Events are fed in order. A *target* is an event whose item this user has
 * not interacted with before, from a user with at least one earlier event.
 * Before a target is applied, the engine (rs_score_user, the daemon's own
 * scorer on the daemon's own state code) and a popularity baseline (all-time
 * event counts) each give the user's top-K; both leave out every item the
 * user already interacted with. Then every event is applied through the
 * pipeline exactly as the daemon applies a consumed record.
 *
 * Metrics per model: HR@K (hits / targets), MRR@K (mean 1/rank), NDCG@K
 * (mean 1/log2(rank+1): one relevant item), catalogue coverage (distinct
 * items ever recommended / items seen), Gini coefficient of how often each
 * item was recommended, and the mean popularity percentile of recommended
 * items at recommendation time (100 = the most popular item).
 *
 * Ownership: rs_eval_t owns its pipeline (state in conf->state_dir, which
 * should be an empty scratch directory) and its maps; it borrows conf.
 * Thread: one thread. */
#ifndef RS_EVAL_H
#define RS_EVAL_H

#include <stdint.h>

#include "rs_conf.h"
#include "rs_err.h"
#include "rs_event.h"

typedef struct rs_eval_model {
    uint64_t hits;
    double hr, mrr, ndcg;
    double coverage;   /* recommended distinct / catalogue */
    double gini;       /* exposure inequality, 0 = even, 1 = one item */
    double pop_pct;    /* mean popularity percentile of recommended items */
    uint64_t distinct; /* distinct items recommended */
} rs_eval_model_t;

typedef struct rs_eval_result {
    uint64_t events;   /* events fed */
    uint64_t rejected; /* failed validation (not applied, never targets) */
    uint64_t targets;  /* targets scored */
    uint64_t skipped;  /* targets before score_from (trained on, not scored) */
    uint64_t users, items;
    int k;
    rs_eval_model_t engine, popularity;
} rs_eval_result_t;

typedef struct rs_eval_opts {
    int k;                 /* list length */
    uint64_t score_from;   /* only events with index >= this are scored (tune/confirm splits) */
    uint64_t commit_every; /* events per state commit (0 = 65536) */
} rs_eval_opts_t;

typedef struct rs_eval rs_eval_t;

rs_err_t rs_eval_new(rs_eval_t **out, const rs_conf_t *conf, const rs_eval_opts_t *opts,
                     char *errstr, size_t errstr_size);
void rs_eval_destroy(rs_eval_t *ev); /* NULL-safe */

/* Tests (if it is a target) then trains on one event. Returns 1 if it was
 * a scored target, 0 otherwise, or a negative RS_E* on a state error. */
int rs_eval_event(rs_eval_t *ev, const rs_event_t *e, char *errstr, size_t errstr_size);

/* Commits what is still in memory (so a kept --state dir is complete). */
rs_err_t rs_eval_finish(rs_eval_t *ev, char *errstr, size_t errstr_size);

/* Metrics so far (callable at any time; cheap except coverage/Gini, which
 * walk the catalogue). */
void rs_eval_result(rs_eval_t *ev, rs_eval_result_t *r);

/* HR@K over the stream: n_points windows of consecutive targets; writes up
 * to n_points (engine, popularity) pairs and returns how many. */
size_t rs_eval_curve(const rs_eval_t *ev, size_t n_points, double *engine, double *popularity);

/* The engine's current list for a user (for tests comparing eval with the
 * daemon): items as ids into out[0..k), returns count. Strings are owned by
 * the state. */
size_t rs_eval_recommend(rs_eval_t *ev, const char *user, size_t len, const char **out, size_t k);

#endif
