/* rs_truth.h -- scores what the engine emitted (alert and segment lines of
 * `recstream replay --emit-jsonl`) against the generator's ground truth
 * (`recstream gen --truth`, rs_gen_write_truth()); the library behind
 * `recstream score`.
 *
 * Inputs, in this order: the truth lines (rs_truth_add_truth_line or
 * rs_truth_read_truth), then the emitted lines (rs_truth_add_emitted_line
 * or rs_truth_read_emitted). Alerts are matched as they stream in, so
 * memory is proportional to users, items and episodes, not to alerts or
 * recommendation lines. Without truth lines every user is "in no episode":
 * the report then gives alert counts, the alerted share of the users seen
 * in the output, examples, cluster and RFM sizes.
 *
 * Alerts: an alert of rule bot, card_testing or big_purchase matches a
 * planted episode of the same kind with the same user (item_spike: the same
 * item) when start_ts <= ts_ms <= end_ts + gap_ms. rate_burst has no planted
 * kind: it matches when its user has an episode of any user kind (bot,
 * card_testing, big_purchase) whose window holds ts_ms; it has no recall.
 * precision = matched / alerts of the rule; recall = detected / episodes of
 * the kind, where an episode is detected when an alert of its rule matched
 * it, or when it starts within end_ts + gap_ms of a detected episode of the
 * same kind and subject (the engine merges those into one alert episode;
 * counted in `merged`). An episode with "complete":false (the stream ended
 * before its last event) counts only when detected; the others are `cut`.
 * Users "in no episode" are users without any planted
 * user episode; alerts on them are the false positives reported apart.
 *
 * Segments: per user the LAST change (file order) of each dimension counts.
 * clusters: users whose last "cluster" is not "" are clustered; the
 * adjusted Rand index compares those clusters with the truth groups over
 * clustered users that are in the truth. rfm: sizes of the last "rfm"
 * segment per user ("" counted as "none").
 *
 * Lines: blank lines are skipped; a line of kind "recommendation" is only
 * checked by its prefix (not fully parsed); other kinds are counted and
 * ignored. A malformed line is RS_EDECODE, reported as "line N: reason"
 * (rs_truth_read_*: "path:N: reason").
 *
 * Ownership: strings handed out point into the scorer and stay valid until
 * rs_truth_destroy(). Thread: one thread per scorer. */
#ifndef RS_TRUTH_H
#define RS_TRUTH_H

#include <stddef.h>
#include <stdint.h>

#include "rs_buf.h"
#include "rs_err.h"

typedef struct rs_truth rs_truth_t;

typedef struct rs_truth_opts {
    int64_t gap_ms;    /* episode gap (alert.episode.gap.ms), >= 0; default 600000 */
    uint32_t examples; /* unmatched alerts kept per rule for the report; default 3 */
} rs_truth_opts_t;

void rs_truth_opts_default(rs_truth_opts_t *o);
/* RS_EARG for a negative gap. */
rs_err_t rs_truth_new(rs_truth_t **out, const rs_truth_opts_t *o, char *errstr, size_t errstr_size);
void rs_truth_destroy(rs_truth_t *t); /* NULL-safe */

/* One line without its newline. RS_EDECODE "line N: reason" for a bad
 * line (N counts every line passed, blank ones too); RS_ESTATE for a truth
 * line after the first emitted line. */
rs_err_t rs_truth_add_truth_line(rs_truth_t *t, const char *p, size_t n, char *errstr,
                                 size_t errstr_size);
rs_err_t rs_truth_add_emitted_line(rs_truth_t *t, const char *p, size_t n, char *errstr,
                                   size_t errstr_size);
/* Whole files; errors "path:N: reason", RS_EIO when unreadable. */
rs_err_t rs_truth_read_truth(rs_truth_t *t, const char *path, char *errstr, size_t errstr_size);
rs_err_t rs_truth_read_emitted(rs_truth_t *t, const char *path, char *errstr, size_t errstr_size);

typedef struct rs_truth_rule_stats {
    const char *rule;    /* "rate_burst", "bot", ... or an unknown rule's name */
    uint64_t alerts;     /* alert lines of the rule */
    uint64_t matched;    /* of those, matching a planted episode */
    double precision;    /* matched / alerts; NAN without alerts or truth */
    int has_kind;        /* a planted kind of this name exists (recall below) */
    uint64_t episodes;   /* planted episodes of the kind (cut ones: if detected) */
    uint64_t detected;   /* of those, detected (merged ones included) */
    uint64_t merged;     /* detected through a merged neighbour only */
    uint64_t cut;        /* cut short by the stream's end, undetected: not counted */
    double recall;       /* detected / episodes; NAN when !has_kind or none */
    uint32_t n_examples; /* unmatched alerts kept (rs_truth_example) */
} rs_truth_rule_stats_t;

/* Rules in report order: rate_burst, bot, big_purchase, card_testing,
 * item_spike, then unknown rules in order of appearance. */
size_t rs_truth_rule_count(const rs_truth_t *t);
void rs_truth_rule_get(const rs_truth_t *t, size_t i, rs_truth_rule_stats_t *out);
/* 1 and *out filled if the rule is known or appeared, else 0. */
int rs_truth_rule_find(const rs_truth_t *t, const char *rule, rs_truth_rule_stats_t *out);
/* The j-th kept unmatched alert line of rule i, as it was read. */
const char *rs_truth_example(const rs_truth_t *t, size_t i, uint32_t j);

typedef struct rs_truth_summary {
    int has_truth;           /* any truth line was read */
    uint64_t truth_users;    /* "user" lines */
    uint64_t truth_episodes; /* "anomaly" lines */
    uint64_t truth_pairs;    /* "pair" lines */
    uint64_t output_users;   /* distinct users named by emitted lines */
    uint64_t lines_rec, lines_alert, lines_segment, lines_other;
    uint64_t alerts;            /* all alert lines */
    uint64_t alerted_users;     /* distinct users named by alerts */
    uint64_t users;             /* the share's base: truth users, or output users */
    double alerted_share;       /* alerted_users / users; NAN when users == 0 */
    uint64_t fp_alerts;         /* alerts naming a user in no planted episode */
    uint64_t fp_users;          /* distinct such users */
    uint64_t clustered;         /* last cluster != "", user in the truth */
    uint64_t clustered_unknown; /* last cluster != "", user not in the truth */
    uint64_t unclustered;       /* last cluster == "" */
    double ari;                 /* clusters vs groups; NAN below 2 clustered users */
    uint64_t rfm_users;         /* users with an rfm change */
} rs_truth_summary_t;

void rs_truth_summary(const rs_truth_t *t, rs_truth_summary_t *s);

/* Contingency cell: clustered truth users whose last cluster is `cluster`
 * and whose group is `group` (0 for unknown names). */
uint64_t rs_truth_cell(const rs_truth_t *t, const char *cluster, const char *group);
/* Users whose last rfm segment is `segment` ("" = none). */
uint64_t rs_truth_rfm_size(const rs_truth_t *t, const char *segment);

/* Adjusted Rand index (Hubert & Arabie 1985) of a rows x cols contingency
 * table (row-major counts), with pair counts in exact integer arithmetic.
 * NAN when the table holds fewer than 2 items; 1 when both partitions are
 * trivial in the same way (one block each, or all singletons). */
double rs_truth_ari(const uint64_t *table, size_t rows, size_t cols);

/* Appends the report: a readable table, or one JSON object (json != 0). */
void rs_truth_report(const rs_truth_t *t, int json, rs_buf_t *out);

/* Bounds for scripts; a NAN bound is not checked. */
typedef struct rs_truth_bounds {
    double min_precision;     /* every rule with alerts (needs truth) */
    double min_recall;        /* every planted kind with episodes */
    double min_ari;           /* NAN ari misses it */
    double max_alerted_share; /* alerted users / users */
} rs_truth_bounds_t;

void rs_truth_bounds_none(rs_truth_bounds_t *b);
/* Number of bounds missed; each miss appends one line saying which to why
 * (may be NULL). */
int rs_truth_check(const rs_truth_t *t, const rs_truth_bounds_t *b, rs_buf_t *why);

#endif
