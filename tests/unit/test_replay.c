/* test_replay.c -- `recstream replay` end to end (needs RS_BIN): the same
 * events replayed with different batch sizes, and from CSV and JSON lines,
 * give the same state dump and byte-identical --emit-jsonl output; bad lines
 * are counted and reported with file:line, never applied. */
#include <stdlib.h>
#include <unistd.h>

#include "rs_test.h"

static char g_dir[64];

static int run(const char *cmd) {
    int rc = system(cmd);
    if (rc) fprintf(stderr, "  command failed (%d): %s\n", rc, cmd);
    return rc;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (p) p[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return p;
}

static int same_file(const char *a, const char *b) {
    size_t la, lb;
    char *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = x && y && la == lb && !memcmp(x, y, la);
    free(x);
    free(y);
    return same;
}

static size_t count_lines(const char *path, const char *needle) {
    size_t len, n = 0;
    char *x = slurp(path, &len);
    for (char *p = x; p && (p = strstr(p, needle)); p++) n++;
    free(x);
    return n;
}

/* 3000 events of 60 users over 150 items (views, carts, purchases), plus 3
 * malformed lines, as CSV and as JSON lines with the same content. */
static void write_inputs(void) {
    char path[128];
    snprintf(path, sizeof(path), "%s/in.csv", g_dir);
    FILE *c = fopen(path, "w");
    snprintf(path, sizeof(path), "%s/in.jsonl", g_dir);
    FILE *j = fopen(path, "w");
    fprintf(c, "ts_ms,user_id,item_id,type,session_id,price,category\n");
    static const char *types[] = {"view", "view", "view", "cart", "purchase"};
    uint64_t x = 99;
    for (int i = 0; i < 3000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned r = (unsigned)(x >> 33);
        unsigned u = r % 60, it = ((r >> 8) % 8 ? (u * 5 + (r >> 12) % 9) : (r >> 12)) % 150;
        const char *t = types[(r >> 20) % 5];
        long long ts = 1700000000000LL + i * 1000LL;
        fprintf(c, "%lld,u%u,i%u,%s,,%s,c%u\n", ts, u, it, t, strcmp(t, "purchase") ? "" : "9.5",
                it % 7);
        fprintf(j,
                "{\"event_id\":\"%d-x\",\"ts_ms\":%lld,\"user_id\":\"u%u\",\"item_id\":\"i%u\","
                "\"type\":\"%s\"%s,\"category\":\"c%u\"}\n",
                i, ts, u, it, t, strcmp(t, "purchase") ? "" : ",\"price\":9.5", it % 7);
        if (i == 100) fprintf(c, "oops,u1,i1,view,,,\n");
        if (i == 200) fprintf(c, "1700000000000,u1,i1,teleport,,,\n");
        if (i == 300) fprintf(c, "1700000000000,u1\n");
    }
    fclose(c);
    fclose(j);
}

TEST(deterministic_replays) {
    const char *bin = getenv("RS_BIN");
    if (!bin || !*bin) {
        fprintf(stderr, "  RS_BIN unset: skipped\n");
        return;
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/rs-test-replay-XXXXXX");
    ASSERT(mkdtemp(g_dir) != NULL);
    write_inputs();
    char cmd[1024], a[128], b[128];
    static const struct {
        const char *name, *input, *batch;
    } runs[] = {{"b1", "in.csv", "1"}, {"b1000", "in.csv", "1000"}, {"j7", "in.jsonl", "7"}};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof(cmd),
                 "'%s' replay -q --input %s/%s --state %s/st-%s --emit-jsonl %s/out-%s.jsonl "
                 "--batch-size %s --dlq-file %s/dlq-%s.jsonl > %s/log-%s.txt 2>&1 && "
                 "'%s' state dump --state %s/st-%s > %s/dump-%s.txt 2>/dev/null",
                 bin, g_dir, runs[i].input, g_dir, runs[i].name, g_dir, runs[i].name, runs[i].batch,
                 g_dir, runs[i].name, g_dir, runs[i].name, bin, g_dir, runs[i].name, g_dir,
                 runs[i].name);
        ASSERT_EQ(run(cmd), 0);
    }
    /* batch sizes do not change anything */
    snprintf(a, sizeof(a), "%s/dump-b1.txt", g_dir);
    snprintf(b, sizeof(b), "%s/dump-b1000.txt", g_dir);
    ASSERT(same_file(a, b));
    ASSERT(count_lines(a, "\nitem ") > 100);
    snprintf(a, sizeof(a), "%s/out-b1.jsonl", g_dir);
    snprintf(b, sizeof(b), "%s/out-b1000.jsonl", g_dir);
    ASSERT(same_file(a, b));
    size_t recs = count_lines(a, "\"kind\":\"recommendation\"");
    ASSERT(recs > 1000);
    /* JSON lines with the same events: the same outputs (the state differs
     * only in the dedup ids, which are not in the dump) */
    snprintf(b, sizeof(b), "%s/out-j7.jsonl", g_dir);
    ASSERT(same_file(a, b));
    snprintf(a, sizeof(a), "%s/dump-b1.txt", g_dir);
    snprintf(b, sizeof(b), "%s/dump-j7.txt", g_dir);
    ASSERT(same_file(a, b));
    /* the 3 bad CSV lines (bad ts, unknown type, 2 fields) never applied */
    snprintf(a, sizeof(a), "%s/dlq-b1.jsonl", g_dir);
    ASSERT_EQ(count_lines(a, "\"reason\":\"malformed\""), 3);
    ASSERT_EQ(count_lines(a, "\"line\":"), 3);
    snprintf(a, sizeof(a), "%s/log-b1.txt", g_dir);
    ASSERT_EQ(count_lines(a, "in.csv:103: ts_ms"), 1);
    ASSERT_EQ(count_lines(a, "3000 applied"), 1);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    ASSERT_EQ(run(cmd), 0);
}

int main(void) {
    return RUN_TESTS(t_deterministic_replays);
}
