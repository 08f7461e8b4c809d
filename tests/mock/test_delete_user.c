/* test_delete_user.c -- `recstream delete-user ID -b BROKERS` on the mock
 * cluster (needs RS_BIN): the tombstone (key = user id, null value) lands on
 * topic.recommendations, the profile is gone, other users stay; an
 * unreachable broker fails after the timeout and leaves the state as it was. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_kafka.h"
#include "recstream/rs_log.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

static char g_dir[64], err[512];

static int sh(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static rs_conf_t *mkconf(void) {
    rs_conf_t *c = rs_conf_new();
    rs_conf_set(c, "state.dir", g_dir, "test", err, sizeof(err));
    return c;
}

static int has_user(const char *id) {
    rs_conf_t *c = mkconf();
    rs_state_t *st = NULL;
    int found = -1;
    if (!rs_state_open_ro(&st, c, err, sizeof(err)))
        found = rs_state_user_get(st, id, strlen(id)) != NULL;
    rs_state_close(st);
    rs_conf_destroy(c);
    return found;
}

TEST(tombstone) {
    const char *bin = getenv("RS_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "  RS_BIN unset: skipped\n");
        return;
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-deluser-XXXXXX");
    ASSERT(mkdtemp(g_dir) != NULL);
    rs_conf_t *c = mkconf();
    rs_state_t *st = NULL;
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    static const char *users[] = {"alice", "bob"};
    for (int i = 0; i < 2; i++) {
        rs_event_t e = {0};
        e.fields = RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE;
        e.type = RS_EV_VIEW;
        e.ts_ms = 1000 + i;
        e.user_id = rs_str(users[i], (uint32_t)strlen(users[i]));
        e.item_id = rs_str("sku", 3);
        int late;
        rs_state_apply(st, &e, 0, &late);
    }
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_state_close(st);
    rs_conf_destroy(c);

    rs_mock_t *m = NULL;
    ASSERT_OK(rs_mock_new(&m, 1, err, sizeof(err)));
    ASSERT_OK(rs_mock_topic_create(m, "recs.test", 1));
    char cmd[1024];
    /* unreachable broker: fails, state unchanged */
    snprintf(cmd, sizeof(cmd),
             "'%s' delete-user alice --state '%s' -b 127.0.0.1:1 --topic recs.test "
             "--timeout-ms 1500 >/dev/null 2>&1",
             bin, g_dir);
    ASSERT_EQ(sh(cmd), 1);
    ASSERT_EQ(has_user("alice"), 1);

    snprintf(cmd, sizeof(cmd),
             "'%s' delete-user alice --state '%s' -b '%s' -X topic.recommendations=recs.test "
             ">/dev/null 2>&1",
             bin, g_dir, rs_mock_bootstraps(m));
    ASSERT_EQ(sh(cmd), 0);
    ASSERT_EQ(has_user("alice"), 0);
    ASSERT_EQ(has_user("bob"), 1);

    rs_kv_t kv[1] = {{(char *)"bootstrap.servers", (char *)rs_mock_bootstraps(m), (char *)"t"}};
    rs_consumer_t *cons = NULL;
    ASSERT_OK(rs_consumer_new(&cons, kv, 1, NULL, NULL, err, sizeof(err)));
    rs_tp_t tp = {"recs.test", 0};
    int64_t off = RS_OFFSET_BEGINNING;
    ASSERT_OK(rs_consumer_assign(cons, &tp, &off, 1, err, sizeof(err)));
    rs_msg_t msg;
    size_t n = 0;
    for (int i = 0; i < 50 && !n; i++) n = rs_consumer_poll_wait(cons, &msg, 1, 200);
    ASSERT_EQ(n, 1);
    int ok = msg.key_len == 5 && !memcmp(msg.key, "alice", 5) && msg.len == 0 &&
             msg.payload == NULL && msg.offset == 0;
    rs_consumer_release(cons, &msg, 1);
    rs_consumer_destroy(cons);
    rs_mock_destroy(m);
    ASSERT(ok);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    ASSERT_EQ(sh(cmd), 0);
}

int main(void) {
    rs_log_level = RS_LOG_ERROR;
    return RUN_TESTS(t_tombstone);
}
