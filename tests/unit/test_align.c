/* test_align.c -- event-time alignment decisions (rs_align): who is paused
 * and resumed, and which partitions may hold the others back. */
#include <stdlib.h>

#include "recstream/rs_align.h"
#include "rs_test.h"

#define SKEW 30000
#define IDLE 5000
#define T0   INT64_C(1700000000000)
#define W0   (T0 + 3600000) /* the wall clock: an hour after the events (a catch-up) */

typedef struct step {
    int32_t pause[16], resume[16];
    size_t np, nr;
} step_t;

static step_t step(rs_align_t *a, int64_t now) {
    step_t s;
    rs_align_step(a, now, s.pause, &s.np, s.resume, &s.nr);
    return s;
}

static rs_align_t *three(void) {
    rs_align_t *a = rs_align_new(SKEW, IDLE);
    for (int32_t p = 0; p < 3; p++) rs_align_assign(a, p, W0), rs_align_set_lag(a, p, 100);
    return a;
}

TEST(pause_ahead_resume_at_half) {
    rs_align_t *a = three();
    int64_t now = W0 + 1000;
    rs_align_event(a, 0, T0, now);
    rs_align_event(a, 1, T0 + SKEW, now); /* exactly the bound: stays */
    rs_align_event(a, 2, T0 + SKEW + 1, now);
    step_t s = step(a, now);
    ASSERT_EQ(s.np, 1);
    ASSERT_EQ(s.pause[0], 2);
    ASSERT_EQ(s.nr, 0);
    ASSERT(rs_align_paused(a, 2));
    ASSERT_EQ(rs_align_paused_count(a), 1);
    ASSERT_EQ(rs_align_spread(a, now), SKEW + 1);
    /* the slowest moves up, but 2 is still more than SKEW/2 ahead */
    rs_align_event(a, 0, T0 + SKEW / 2, now + 10);
    s = step(a, now + 10);
    ASSERT_EQ(s.np, 0);
    ASSERT_EQ(s.nr, 0);
    /* within SKEW/2 of the slowest: resumed, once */
    rs_align_event(a, 0, T0 + SKEW / 2 + 1, now + 20);
    s = step(a, now + 20);
    ASSERT_EQ(s.nr, 1);
    ASSERT_EQ(s.resume[0], 2);
    ASSERT_EQ(rs_align_paused_count(a), 0);
    s = step(a, now + 30);
    ASSERT_EQ(s.np + s.nr, 0);
    rs_align_destroy(a);
}

/* Partition 0 at T0, partitions 1 and 2 `ahead` ms later, all at W0. */
static rs_align_t *two_ahead(int64_t ahead) {
    rs_align_t *a = three();
    rs_align_event(a, 0, T0, W0);
    rs_align_event(a, 1, T0 + ahead, W0);
    rs_align_event(a, 2, T0 + ahead, W0);
    return a;
}

TEST(caught_up_partition_holds_nobody) {
    rs_align_t *a = two_ahead(10 * SKEW);
    step_t s = step(a, W0);
    ASSERT_EQ(s.np, 2);
    /* partition 0 reached the end of its log: the others go on */
    rs_align_set_lag(a, 0, 0);
    s = step(a, W0 + 1);
    ASSERT_EQ(s.nr, 2);
    ASSERT_EQ(rs_align_paused_count(a), 0);
    /* an unknown lag counts as records left */
    rs_align_set_lag(a, 0, -1);
    s = step(a, W0 + 2);
    ASSERT_EQ(s.np, 2);
    rs_align_destroy(a);
}

TEST(stuck_partition_released_after_idle) {
    rs_align_t *a = two_ahead(2 * SKEW);
    ASSERT_EQ(step(a, W0).np, 2);
    /* 0 delivers nothing new for longer than IDLE: it no longer counts */
    step_t s = step(a, W0 + IDLE);
    ASSERT_EQ(s.nr, 0);
    s = step(a, W0 + IDLE + 1);
    ASSERT_EQ(s.nr, 2);
    /* and it counts again as soon as its event time moves */
    rs_align_event(a, 0, T0 + 1, W0 + IDLE + 2);
    s = step(a, W0 + IDLE + 2);
    ASSERT_EQ(s.np, 2);
    rs_align_destroy(a);
}

/* A partition with records left that has delivered nothing holds everyone
 * back (its event time is unknown), until it delivers, is revoked, turns
 * out empty, or IDLE has passed since its assignment. */
TEST(silent_partition_holds_back) {
    rs_align_t *a = three();
    rs_align_event(a, 0, T0, W0);
    rs_align_event(a, 2, T0 + 5, W0);
    step_t s = step(a, W0);
    ASSERT_EQ(s.np, 2);
    ASSERT_EQ(s.pause[0], 0);
    ASSERT_EQ(s.pause[1], 2);
    rs_align_event(a, 1, T0 + 1, W0 + 1); /* it delivers: all close together */
    s = step(a, W0 + 1);
    ASSERT_EQ(s.nr, 2);
    ASSERT_EQ(rs_align_paused_count(a), 0);
    rs_align_destroy(a);

    a = three();
    rs_align_event(a, 0, T0, W0);
    ASSERT_EQ(step(a, W0).np, 1);
    rs_align_set_lag(a, 1, 0); /* 1 is empty after all; 2 still silent */
    ASSERT_EQ(step(a, W0 + 1).nr, 0);
    rs_align_revoke(a, 2); /* revoked: nobody holds 0 back */
    s = step(a, W0 + 2);
    ASSERT_EQ(s.nr, 1);
    ASSERT_EQ(s.resume[0], 0);
    int32_t parts[4];
    ASSERT_EQ(rs_align_partitions(a, parts, 4), 2);
    ASSERT_EQ(parts[0], 0);
    ASSERT_EQ(parts[1], 1);
    /* events of partitions not assigned are ignored */
    rs_align_event(a, 2, T0 - SKEW, W0 + 2);
    ASSERT_EQ(step(a, W0 + 2).np, 0);
    rs_align_destroy(a);

    a = three();
    rs_align_event(a, 0, T0, W0);
    ASSERT_EQ(step(a, W0).np, 1);
    ASSERT_EQ(step(a, W0 + IDLE).nr, 0);
    ASSERT_EQ(step(a, W0 + IDLE + 1).nr, 1); /* silent too long */
    rs_align_destroy(a);
}

TEST(reset_after_resume_all) {
    rs_align_t *a = two_ahead(SKEW + 1);
    ASSERT_EQ(step(a, W0).np, 2);
    /* the owner resumed everything itself (a state write recovered) */
    rs_align_reset(a);
    ASSERT_EQ(rs_align_paused_count(a), 0);
    /* the next step pauses them again rather than resuming what runs */
    step_t s = step(a, W0 + 1);
    ASSERT_EQ(s.np, 2);
    ASSERT_EQ(s.nr, 0);
    /* high partition numbers grow the table */
    rs_align_assign(a, 200, W0);
    rs_align_set_lag(a, 200, 5);
    rs_align_event(a, 200, T0 - 1, W0 + 2);
    ASSERT_EQ(rs_align_spread(a, W0 + 2), SKEW + 2);
    rs_align_destroy(a);
}

/* Live: every partition is near the wall clock. One client's clock two
 * minutes ahead must not pause its partition for two minutes. */
TEST(future_event_time_capped) {
    rs_align_t *a = three();
    int64_t now = W0;
    rs_align_event(a, 0, now - 100, now);
    rs_align_event(a, 1, now - 50, now);
    rs_align_event(a, 2, now + 120000, now);
    step_t s = step(a, now);
    ASSERT_EQ(s.np, 0);
    ASSERT_EQ(rs_align_spread(a, now), 100);
    rs_align_destroy(a);
}

int main(void) {
    return RUN_TESTS(t_pause_ahead_resume_at_half, t_caught_up_partition_holds_nobody,
                     t_stuck_partition_released_after_idle, t_silent_partition_holds_back,
                     t_reset_after_resume_all, t_future_event_time_capped);
}
