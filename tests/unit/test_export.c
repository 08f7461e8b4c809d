/* test_export.c -- state export, user deletion (F19), diff of replay outputs
 * and of state directories, and Avro container files as an event source.
 *
 * The state API parts (rs_state_users_foreach, rs_state_user_delete,
 * rs_json_rec_line, rs_avro_file_* through rs_source) always run; the CLI
 * parts (`recstream export`, `delete-user`, `diff`, `replay` of an .avro
 * file) need RS_BIN and are skipped without it. */
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recstream/rs_conf.h"
#include "recstream/rs_fileio.h"
#include "recstream/rs_source.h"
#include "recstream/rs_state.h"
#include "rs_test.h"

static char g_dir[64];
static char err[512];

static const char *path_of(const char *name) {
    static char p[4][192];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", g_dir, name);
    return p[i];
}

static rs_conf_t *mkconf(const char *sub) {
    rs_conf_t *c = rs_conf_new();
    rs_conf_set(c, "state.dir", path_of(sub), "test", err, sizeof(err));
    rs_conf_set(c, "log.level", "error", "test", err, sizeof(err));
    return c;
}

static rs_event_t ev(const char *user, const char *item, rs_evtype_t t, int64_t ts) {
    rs_event_t e = {0};
    e.fields = RS_F_TS | RS_F_USER | RS_F_ITEM | RS_F_TYPE;
    e.type = t;
    e.ts_ms = ts;
    e.user_id = rs_str(user, (uint32_t)strlen(user));
    e.item_id = rs_str(item, (uint32_t)strlen(item));
    return e;
}

static rs_event_t with(rs_event_t e, const char *session, double price, const char *cat) {
    if (session)
        e.session_id = rs_str(session, (uint32_t)strlen(session)), e.fields |= RS_F_SESSION;
    if (price >= 0) e.price = price, e.fields |= RS_F_PRICE;
    if (cat) e.category = rs_str(cat, (uint32_t)strlen(cat)), e.fields |= RS_F_CATEGORY;
    return e;
}

/* The 7 events every state test starts from (3 users, 3 items). */
static size_t base_events(rs_event_t *v) {
    size_t n = 0;
    v[n++] = with(ev("u1", "a", RS_EV_VIEW, 1000), "s1", -1, "cat1");
    v[n++] = with(ev("u1", "b", RS_EV_VIEW, 2000), "s1", -1, "cat1");
    v[n++] = with(ev("u2", "a", RS_EV_VIEW, 3000), "s2", -1, NULL);
    v[n++] = with(ev("u2", "b", RS_EV_CART, 4000), "s2", 9.5, NULL);
    v[n++] = with(ev("u2", "c", RS_EV_PURCHASE, 5000), "s2", 12.25, "cat2");
    v[n++] = ev("u3", "a", RS_EV_VIEW, 6000);
    v[n++] = ev("u3", "c", RS_EV_VIEW, 7000);
    return n;
}

static int build(const char *sub, const rs_event_t *v, size_t n) {
    rs_conf_t *c = mkconf(sub);
    rs_state_t *st = NULL;
    int late, rc = rs_state_open(&st, c, err, sizeof(err));
    for (size_t i = 0; !rc && i < n; i++) rs_state_apply(st, &v[i], 0, &late);
    if (!rc) rc = rs_state_commit(st, err, sizeof(err));
    rs_state_close(st);
    rs_conf_destroy(c);
    return rc;
}

static int collect_id(void *opaque, const rs_user_t *u) {
    rs_buf_t *b = opaque;
    if (b->len) rs_buf_putc(b, ',');
    rs_buf_append(b, u->id, u->id_len);
    return 0;
}

static const char *user_ids(rs_state_t *st, rs_buf_t *b) {
    rs_buf_reset(b);
    if (rs_state_users_foreach(st, collect_id, b, err, sizeof(err))) return "(error)";
    return rs_buf_cstr(b);
}

static int sh(const char *cmd) { /* exit status of a shell command */
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    rs_buf_t b = {0};
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) rs_buf_append(&b, tmp, n);
    fclose(f);
    rs_buf_cstr(&b);
    return b.p;
}

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

static const char *bin(void) {
    const char *b = getenv("RS_BIN");
    if (!b || !*b) fprintf(stderr, "  RS_BIN unset: CLI part skipped\n");
    return b && *b ? b : NULL;
}

/* ---------------------------------------------------------------- state API */

TEST(foreach_and_delete) {
    rs_event_t v[16];
    size_t n = base_events(v);
    ASSERT_OK(build("del", v, n));
    rs_conf_t *c = mkconf("del");
    rs_state_t *st = NULL;
    rs_buf_t ids = {0};
    int late;
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    ASSERT_STREQ(user_ids(st, &ids), "u1,u2,u3");

    /* a committed user, not loaded */
    ASSERT_EQ(rs_state_user_delete(st, "u2", 2, err, sizeof(err)), RS_OK);
    ASSERT(rs_state_user_get(st, "u2", 2) == NULL);
    ASSERT_EQ(rs_state_user_delete(st, "u2", 2, err, sizeof(err)), RS_ENOTFOUND);
    ASSERT_EQ(rs_state_user_delete(st, "nobody", 6, err, sizeof(err)), RS_ENOTFOUND);
    ASSERT_STREQ(user_ids(st, &ids), "u1,u3"); /* before the commit already */
    ASSERT(rs_state_uncommitted(st) > 0);

    /* a user only in memory, dirty and touched */
    rs_event_t e = ev("u4", "a", RS_EV_VIEW, 8000);
    rs_state_apply(st, &e, 0, &late);
    rs_state_commit_step(st, 100); /* its profile is already in the open batch */
    uint64_t cached = rs_state_user_cached(st);
    ASSERT_EQ(rs_state_user_delete(st, "u4", 2, err, sizeof(err)), RS_OK);
    ASSERT_EQ(rs_state_user_cached(st), cached - 1);
    size_t nt = 0;
    rs_user_t **t = rs_state_touched(st, &nt);
    ASSERT_EQ(nt, 0);
    (void)t;

    /* deleted, then a new event before the commit: a fresh profile, not the old one */
    ASSERT(rs_state_user_get(st, "u1", 2) != NULL);
    ASSERT_EQ(rs_state_user_delete(st, "u1", 2, err, sizeof(err)), RS_OK);
    e = ev("u1", "c", RS_EV_VIEW, 9000);
    rs_user_t *u = rs_state_apply(st, &e, 0, &late);
    ASSERT_EQ(u->counts[RS_EV_VIEW], 1);
    ASSERT_EQ(u->first_ts, 9000);
    ASSERT_EQ(u->n_recent, 1);
    rs_state_touched_reset(st);
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    rs_state_close(st);

    /* after reopening */
    ASSERT_OK(rs_state_open(&st, c, err, sizeof(err)));
    ASSERT_STREQ(user_ids(st, &ids), "u1,u3");
    ASSERT(rs_state_user_get(st, "u2", 2) == NULL);
    ASSERT(rs_state_user_get(st, "u4", 2) == NULL);
    u = rs_state_user_get(st, "u1", 2);
    ASSERT(u != NULL);
    ASSERT_EQ(u->counts[RS_EV_VIEW], 1);
    ASSERT_EQ(u->first_ts, 9000);
    u = rs_state_user_get(st, "u3", 2);
    ASSERT(u != NULL);
    ASSERT_EQ(u->counts[RS_EV_VIEW], 2);
    ASSERT_EQ(u->first_ts, 6000);
    ASSERT_EQ(u->last_ts, 7000);
    ASSERT_EQ(u->n_recent, 2);
    /* aggregates stay: item a saw u1, u2, u3 and u4 */
    rs_item_t *it = rs_state_item_get(st, "a", 1);
    ASSERT(it != NULL);
    ASSERT_EQ(it->counts[RS_EV_VIEW], 4);
    ASSERT_EQ(it->weight, 4);

    /* a delete while a batch is in flight goes into the next one; until that
     * is written the committed profile must not come back */
    e = ev("u6", "b", RS_EV_VIEW, 10000);
    rs_state_apply(st, &e, 0, &late);
    rs_state_touched_reset(st);
    rs_state_commit_t *cm = rs_state_commit_begin(st);
    ASSERT(cm != NULL);
    ASSERT_EQ(rs_state_user_delete(st, "u3", 2, err, sizeof(err)), RS_OK);
    ASSERT_OK(rs_state_commit_write(st, cm, err, sizeof(err)));
    rs_state_commit_end(st, cm, RS_OK);
    ASSERT(rs_state_user_get(st, "u3", 2) == NULL); /* RocksDB still has it here */
    ASSERT_OK(rs_state_commit(st, err, sizeof(err)));
    ASSERT(rs_state_user_get(st, "u3", 2) == NULL);
    ASSERT_STREQ(user_ids(st, &ids), "u1,u6");
    rs_state_close(st);

    /* read-only: refused */
    ASSERT_OK(rs_state_open_ro(&st, c, err, sizeof(err)));
    ASSERT_EQ(rs_state_user_delete(st, "u1", 2, err, sizeof(err)), RS_ESTATE);
    rs_state_close(st);
    rs_conf_destroy(c);
    rs_buf_free(&ids);
}

TEST(rec_line) {
    rs_buf_t user = {0}, items = {0};
    uint32_t n = 9;
    const char *l1 =
        "{\"kind\":\"recommendation\",\"user_id\":\"u\\u00e9\",\"ts_ms\":1,\"version\":2,"
        "\"strategy\":\"item-knn\",\"items\":[{\"item_id\":\"a\",\"score\":1,"
        "\"reason\":\"x\"},{\"item_id\":\"b c\",\"score\":0.5,\"reason\":\"y\"}]}";
    ASSERT_EQ(rs_json_rec_line(l1, strlen(l1), &user, &items, &n, err, sizeof(err)), 1);
    ASSERT_EQ(user.len, 3);
    ASSERT(!memcmp(user.p, "u\xc3\xa9", 3));
    ASSERT_EQ(n, 2);
    ASSERT_EQ(items.len, 6);
    ASSERT(!memcmp(items.p, "a\0b c\0", 6));
    const char *l2 = "{\"kind\":\"alert\",\"user_id\":\"u\",\"rule\":\"spend\"}";
    ASSERT_EQ(rs_json_rec_line(l2, strlen(l2), &user, &items, &n, err, sizeof(err)), 0);
    const char *l3 = "{\"kind\":\"recommendation\",\"user_id\":\"u\"}";
    ASSERT_EQ(rs_json_rec_line(l3, strlen(l3), &user, &items, &n, err, sizeof(err)), RS_EDECODE);
    ASSERT(strstr(err, "items") != NULL);
    ASSERT_EQ(rs_json_rec_line("{\"kind\":", 8, &user, &items, &n, err, sizeof(err)), RS_EDECODE);
    ASSERT_EQ(rs_json_rec_line("{}", 2, &user, &items, &n, err, sizeof(err)), RS_EDECODE);
    rs_buf_free(&user);
    rs_buf_free(&items);
}

/* ---------------------------------------------------------------- Avro */

#define N_AVRO 500

static void avro_events(rs_event_t *v, char (*ids)[3][24]) {
    static const char *cats[] = {"shoes", "bags", "hats"};
    for (int i = 0; i < N_AVRO; i++) {
        snprintf(ids[i][0], 24, "e%d", i);
        snprintf(ids[i][1], 24, "u%d", i % 37);
        snprintf(ids[i][2], 24, "i%d", (i * 7) % 101);
        rs_event_t e =
            ev(ids[i][1], ids[i][2], (rs_evtype_t)(i % RS_EV__COUNT), 1700000000000LL + i * 1000LL);
        e.event_id = rs_str(ids[i][0], (uint32_t)strlen(ids[i][0]));
        e.fields |= RS_F_EVENT_ID;
        if (i % 3 == 0) e = with(e, ids[i][1], -1, NULL); /* session = user id */
        if (i % 4 == 1) e = with(e, NULL, 0.25 * i, NULL);
        if (i % 5 != 2) e = with(e, NULL, -1, cats[i % 3]);
        if (i % 6 == 0) e.device = rs_str("ios", 3), e.fields |= RS_F_DEVICE;
        if (i % 7 == 3) e.rec_version = -i, e.fields |= RS_F_REC_VERSION;
        v[i] = e;
    }
}

static int str_eq(rs_str_t a, rs_str_t b) {
    return a.len == b.len && (!a.len || !memcmp(a.p, b.p, a.len));
}

TEST(avro_roundtrip) {
    static rs_event_t v[N_AVRO];
    static char ids[N_AVRO][3][24];
    avro_events(v, ids);
    for (int deflate = 0; deflate < 2; deflate++) {
        const char *p = path_of(deflate ? "ev-deflate.avro" : "ev.avro");
        ASSERT_OK(rs_avro_file_write_events(p, v, N_AVRO, deflate, err, sizeof(err)));
        rs_source_t *s = NULL;
        ASSERT_OK(rs_source_open(&s, p, NULL, err, sizeof(err)));
        ASSERT_EQ(rs_source_format(s), RS_SRC_AVRO);
        rs_event_t e;
        int i = 0, rc;
        while ((rc = rs_source_next(s, &e, err, sizeof(err))) == 1 && i < N_AVRO) {
            const rs_event_t *w = &v[i];
            if (e.fields != w->fields || e.type != w->type || e.ts_ms != w->ts_ms ||
                !str_eq(e.event_id, w->event_id) || !str_eq(e.user_id, w->user_id) ||
                !str_eq(e.item_id, w->item_id) || !str_eq(e.session_id, w->session_id) ||
                !str_eq(e.category, w->category) || !str_eq(e.device, w->device) ||
                ((w->fields & RS_F_PRICE) && e.price != w->price) ||
                ((w->fields & RS_F_REC_VERSION) && e.rec_version != w->rec_version)) {
                rs_source_close(s);
                RS_T_FAIL_("event %d differs after the round trip (deflate %d)", i, deflate);
            }
            i++;
        }
        ASSERT_EQ(rc, 0);
        ASSERT_EQ(i, N_AVRO);
        ASSERT_EQ(rs_source_line(s), N_AVRO);
        ASSERT(rs_source_size(s) > 0);
        rs_source_close(s);
    }
    /* the format by name, on a file without the extension */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", path_of("ev.avro"), path_of("ev.bin"));
    ASSERT_EQ(sh(cmd), 0);
    rs_source_t *s = NULL;
    ASSERT_OK(rs_source_open(&s, path_of("ev.bin"), "avro", err, sizeof(err)));
    rs_event_t e;
    ASSERT_EQ(rs_source_next(s, &e, err, sizeof(err)), 1);
    ASSERT_EQ(e.ts_ms, 1700000000000LL);
    rs_source_close(s);

    /* an event the schema cannot carry: nothing written */
    rs_event_t bad = v[1];
    bad.fields &= ~(uint32_t)RS_F_EVENT_ID;
    rs_event_t two[2] = {v[0], bad};
    ASSERT_EQ(rs_avro_file_write_events(path_of("bad-ev.avro"), two, 2, 0, err, sizeof(err)),
              RS_EARG);
    ASSERT(access(path_of("bad-ev.avro"), F_OK) != 0);

    /* not a container file */
    FILE *f = fopen(path_of("junk.avro"), "w");
    ASSERT(f != NULL);
    fputs("ts_ms,user_id\n1,u\n", f);
    fclose(f);
    ASSERT_EQ(rs_source_open(&s, path_of("junk.avro"), NULL, err, sizeof(err)), RS_EDECODE);
    ASSERT(s == NULL);

    /* truncated in a later block (64 KiB blocks: 10 x 500 events make
     * several): the whole blocks, then RS_EIO, never a crash. (Files cut
     * inside their header or first block: tests/unit/test_fileio.c.) */
    static rs_event_t many[10 * N_AVRO];
    for (int i = 0; i < 10 * N_AVRO; i++) many[i] = v[i % N_AVRO];
    ASSERT_OK(
        rs_avro_file_write_events(path_of("big.avro"), many, 10 * N_AVRO, 0, err, sizeof(err)));
    char *all = slurp(path_of("big.avro"));
    ASSERT(all != NULL);
    FILE *src = fopen(path_of("big.avro"), "rb");
    fseek(src, 0, SEEK_END);
    long size = ftell(src);
    fclose(src);
    f = fopen(path_of("trunc.avro"), "wb");
    fwrite(all, 1, (size_t)size * 2 / 3, f);
    fclose(f);
    free(all);
    ASSERT_OK(rs_source_open(&s, path_of("trunc.avro"), NULL, err, sizeof(err)));
    int rc, got = 0;
    while ((rc = rs_source_next(s, &e, err, sizeof(err))) == 1) got++;
    rs_source_close(s);
    ASSERT(got > 0);
    ASSERT(got < 10 * N_AVRO);
    ASSERT_EQ(rc, RS_EIO);
}

/* ---------------------------------------------------------------- CLI */

static void fmt_float(char *out, size_t n, float f) {
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(out, n, "%.*g", prec, (double)f);
        if (strtof(out, NULL) == f) break;
    }
}

/* The similarity the engine gives now, as export must print it. */
static const char *sim(rs_state_t *st, const char *a, const char *b, uint32_t cnt) {
    static char buf[4][32];
    static int i;
    i = (i + 1) % 4;
    const rs_item_t *x = rs_state_item_get(st, a, 1), *y = rs_state_item_get(st, b, 1);
    fmt_float(buf[i], sizeof(buf[i]), x && y ? rs_state_sim(st, x, y->idx, cnt) : NAN);
    return buf[i];
}

TEST(export_cli) {
    const char *b = bin();
    if (!b) return;
    rs_event_t v[16];
    ASSERT_OK(build("exp", v, base_events(v)));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' export --state '%s' --out '%s' 2>/dev/null", b, path_of("exp"),
             path_of("exp.jsonl"));
    ASSERT_EQ(sh(cmd), 0);
    char *got = slurp(path_of("exp.jsonl"));
    ASSERT(got != NULL);
    rs_conf_t *c = mkconf("exp");
    rs_state_t *st = NULL;
    if (rs_state_open_ro(&st, c, err, sizeof(err))) {
        free(got);
        rs_conf_destroy(c);
        RS_T_FAIL_("open: %s", err);
    }
    rs_buf_t want = {0};
#define CNT(v, c, p)                                                                               \
    "{\"view\":" #v ","                                                                            \
    "\"click\":0,\"cart\":" #c ",\"purchase\":" #p                                                 \
    ",\"like\":0,\"share\":0,\"review\":0,\"impression\":0}"
    rs_buf_printf(
        &want,
        "{\"kind\":\"user\",\"user_id\":\"u1\",\"counts\":" CNT(
            2, 0, 0) ",\"first_ts\":1000,\"last_ts\":2000,\"sessions\":1,\"purchases\":0,"
                     "\"monetary\":0,\"recent\":[{\"item_id\":\"b\",\"type\":\"view\",\"ts\":2000},"
                     "{\"item_id\":\"a\",\"type\":\"view\",\"ts\":1000}],\"purchased\":[],"
                     "\"rec_version\":0}\n");
    rs_buf_printf(
        &want,
        "{\"kind\":\"user\",\"user_id\":\"u2\",\"counts\":" CNT(
            1, 1, 1) ",\"first_ts\":3000,\"last_ts\":5000,\"sessions\":1,\"purchases\":1,"
                     "\"monetary\":12.25,\"recent\":[{\"item_id\":\"c\",\"type\":\"purchase\","
                     "\"ts\":5000},{\"item_id\":\"b\",\"type\":\"cart\",\"ts\":4000},"
                     "{\"item_id\":\"a\",\"type\":\"view\",\"ts\":3000}],\"purchased\":"
                     "[{\"item_id\":\"c\",\"ts\":5000}],\"rec_version\":0}\n");
    rs_buf_printf(
        &want,
        "{\"kind\":\"user\",\"user_id\":\"u3\",\"counts\":" CNT(
            2, 0, 0) ",\"first_ts\":6000,\"last_ts\":7000,\"sessions\":1,\"purchases\":0,"
                     "\"monetary\":0,\"recent\":[{\"item_id\":\"c\",\"type\":\"view\",\"ts\":7000},"
                     "{\"item_id\":\"a\",\"type\":\"view\",\"ts\":6000}],\"purchased\":[],"
                     "\"rec_version\":0}\n");
    /* pair counts x60 (position weights): a-b 2 pairs, a-c 1.5 (u2 at distance
     * 2 = 30, u3 adjacent = 60), b-c 1; n(a) = 3, n(b) = n(c) = 2 */
    rs_buf_printf(
        &want,
        "{\"kind\":\"item\",\"item_id\":\"a\",\"counts\":" CNT(
            3, 0, 0) ",\"users\":3,\"first_ts\":1000,\"last_ts\":6000,\"category\":\"cat1\","
                     "\"neighbors\":[{\"item_id\":\"b\",\"count\":120,\"pairs\":2,\"sim\":%s},"
                     "{\"item_id\":\"c\",\"count\":90,\"pairs\":1.5,\"sim\":%s}]}\n",
        sim(st, "a", "b", 120), sim(st, "a", "c", 90));
    rs_buf_printf(
        &want,
        "{\"kind\":\"item\",\"item_id\":\"b\",\"counts\":" CNT(
            1, 1, 0) ",\"users\":2,\"first_ts\":2000,\"last_ts\":4000,\"category\":\"cat1\","
                     "\"price\":9.5,\"neighbors\":[{\"item_id\":\"a\",\"count\":120,\"pairs\":2,"
                     "\"sim\":%s},{\"item_id\":\"c\",\"count\":60,\"pairs\":1,\"sim\":%s}]}\n",
        sim(st, "b", "a", 120), sim(st, "b", "c", 60));
    rs_buf_printf(
        &want,
        "{\"kind\":\"item\",\"item_id\":\"c\",\"counts\":" CNT(
            1, 0, 1) ",\"users\":2,\"first_ts\":5000,\"last_ts\":7000,\"category\":\"cat2\","
                     "\"price\":12.25,\"neighbors\":[{\"item_id\":\"a\",\"count\":90,\"pairs\":1.5,"
                     "\"sim\":%s},{\"item_id\":\"b\",\"count\":60,\"pairs\":1,\"sim\":%s}]}\n",
        sim(st, "c", "a", 90), sim(st, "c", "b", 60));
#undef CNT
    rs_state_close(st);
    rs_conf_destroy(c);
    int same = !strcmp(got, rs_buf_cstr(&want));
    if (!same) fprintf(stderr, "  got:\n%s  want:\n%s", got, want.p);
    free(got);
    rs_buf_free(&want);
    ASSERT(same);
    /* --items with one neighbour: the three item lines only, shortened */
    snprintf(cmd, sizeof(cmd), "'%s' export --state '%s' --items --neighbors 1 -o '%s' 2>/dev/null",
             b, path_of("exp"), path_of("exp-items.jsonl"));
    ASSERT_EQ(sh(cmd), 0);
    got = slurp(path_of("exp-items.jsonl"));
    ASSERT(got != NULL);
    ASSERT_EQ(count(got, "\n"), 3);
    ASSERT_EQ(count(got, "{\"kind\":\"item\""), 3);
    ASSERT_EQ(count(got, "\"count\":"), 3);
    free(got);
    snprintf(cmd, sizeof(cmd), "'%s' export --state '%s' --users -o '%s' 2>/dev/null", b,
             path_of("exp"), path_of("exp-users.jsonl"));
    ASSERT_EQ(sh(cmd), 0);
    got = slurp(path_of("exp-users.jsonl"));
    ASSERT(got != NULL);
    ASSERT_EQ(count(got, "\n"), 3);
    ASSERT_EQ(count(got, "{\"kind\":\"user\""), 3);
    free(got);
    snprintf(cmd, sizeof(cmd), "'%s' export 2>/dev/null", b);
    ASSERT_EQ(sh(cmd), 2);
    snprintf(cmd, sizeof(cmd), "'%s' export --state '%s' 2>/dev/null", b, path_of("missing"));
    ASSERT_EQ(sh(cmd), 1);
}

TEST(delete_user_cli) {
    const char *b = bin();
    if (!b) return;
    rs_event_t v[16];
    ASSERT_OK(build("dcli", v, base_events(v)));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' delete-user u2 --state '%s' >/dev/null 2>&1", b,
             path_of("dcli"));
    ASSERT_EQ(sh(cmd), 0);
    ASSERT_EQ(sh(cmd), 1); /* now unknown */
    snprintf(cmd, sizeof(cmd), "'%s' delete-user --state '%s' >/dev/null 2>&1", b, path_of("dcli"));
    ASSERT_EQ(sh(cmd), 2);
    rs_conf_t *c = mkconf("dcli");
    rs_state_t *st = NULL;
    rs_buf_t ids = {0};
    ASSERT_OK(rs_state_open_ro(&st, c, err, sizeof(err)));
    ASSERT_STREQ(user_ids(st, &ids), "u1,u3");
    rs_user_t *u = rs_state_user_get(st, "u1", 2);
    ASSERT(u != NULL);
    ASSERT_EQ(u->counts[RS_EV_VIEW], 2);
    rs_state_close(st);
    rs_conf_destroy(c);
    rs_buf_free(&ids);
}

static void write_file(const char *name, const char *text) {
    FILE *f = fopen(path_of(name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

#define REC(u, items)                                                                              \
    "{\"kind\":\"recommendation\",\"user_id\":\"" u "\",\"ts_ms\":1,\"version\":1,"                \
    "\"strategy\":\"item-knn\",\"items\":[" items "]}\n"
#define IT(x) "{\"item_id\":\"" x "\",\"score\":1,\"reason\":\"r\"}"

TEST(diff_jsonl_cli) {
    const char *b = bin();
    if (!b) return;
    write_file(
        "A.jsonl",
        REC("u1", IT("a") "," IT("b") "," IT("c"))
            REC("u2", IT("x") "," IT("y")) "{\"kind\":\"alert\",\"user_id\":\"u2\",\"rule\":"
                                           "\"rate\"}\n" REC("u1", IT("a") "," IT("b") "," IT("d"))
                                               REC("u3", IT("p")));
    write_file("B.jsonl", REC("u4", IT("q")) REC("u2", IT("y") "," IT("z"))
                              REC("u1", IT("a") "," IT("b") "," IT("d")));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' --k 2 --json --show 0 > '%s'", b,
             path_of("A.jsonl"), path_of("B.jsonl"), path_of("diff.json"));
    ASSERT_EQ(sh(cmd), 1);
    char *got = slurp(path_of("diff.json"));
    /* u1 identical (overlap 2/2), u2 differs ({x,y} vs {y,z}: 1/2), u3 only
     * in A, u4 only in B: mean overlap@2 = (1 + 0.5) / 2 */
    ASSERT_STREQ(got, "{\"mode\":\"jsonl\",\"a\":{\"records\":4,\"other\":1,\"users\":3},"
                      "\"b\":{\"records\":3,\"other\":0,\"users\":3},\"only_a\":1,\"only_b\":1,"
                      "\"both\":2,\"identical\":1,\"different\":1,\"k\":2,"
                      "\"overlap_at_k\":0.750000,\"same\":false,\"differences\":[]}\n");
    free(got);
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' --json --show 1 > '%s'", b, path_of("A.jsonl"),
             path_of("B.jsonl"), path_of("diff.json"));
    ASSERT_EQ(sh(cmd), 1);
    got = slurp(path_of("diff.json"));
    ASSERT(strstr(got, "\"differences\":[{\"user_id\":\"u2\",\"a\":[\"x\",\"y\"],\"b\":[\"y\","
                       "\"z\"]}]") != NULL);
    free(got);
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' >/dev/null", b, path_of("A.jsonl"),
             path_of("A.jsonl"));
    ASSERT_EQ(sh(cmd), 0);
    write_file("bad.jsonl", "{\"kind\":\"recommendation\"\n");
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' >/dev/null 2>&1", b, path_of("A.jsonl"),
             path_of("bad.jsonl"));
    ASSERT_EQ(sh(cmd), 2);
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' >/dev/null 2>&1", b, path_of("A.jsonl"));
    ASSERT_EQ(sh(cmd), 2);
}

TEST(diff_state_cli) {
    const char *b = bin();
    if (!b) return;
    rs_event_t v[16];
    size_t n = base_events(v);
    ASSERT_OK(build("sa", v, n));
    /* + u9 views a then d: a changes, d is new, a new pair a-d, a new user */
    v[n] = ev("u9", "a", RS_EV_VIEW, 8000);
    v[n + 1] = ev("u9", "d", RS_EV_VIEW, 9000);
    ASSERT_OK(build("sb", v, n + 2));
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' --json --show 0 > '%s'", b, path_of("sa"),
             path_of("sb"), path_of("sdiff.json"));
    ASSERT_EQ(sh(cmd), 1);
    char *got = slurp(path_of("sdiff.json"));
    /* items: a differs, d only in B; cooc: a-d and d-a only in B */
    ASSERT_STREQ(got, "{\"mode\":\"state\",\"offsets\":{\"only_a\":0,\"only_b\":0,\"different\":0,"
                      "\"same\":0},\"items\":{\"only_a\":0,\"only_b\":1,\"different\":1,"
                      "\"same\":2},\"cooc\":{\"only_a\":0,\"only_b\":2,\"different\":0,"
                      "\"same\":6},\"users\":{\"only_a\":0,\"only_b\":1,\"different\":0,"
                      "\"same\":3},\"same\":false,\"differences\":[]}\n");
    free(got);
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' >/dev/null", b, path_of("sa"), path_of("sa"));
    ASSERT_EQ(sh(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' >/dev/null 2>&1", b, path_of("sa"),
             path_of("A.jsonl"));
    ASSERT_EQ(sh(cmd), 2);
}

/* Replaying the Avro file gives the state a CSV of the same events gives. */
TEST(avro_replay_cli) {
    const char *b = bin();
    if (!b) return;
    static rs_event_t v[N_AVRO];
    static char ids[N_AVRO][3][24];
    avro_events(v, ids);
    for (int i = 0; i < N_AVRO; i++) /* CSV has no device/rec_version; both skip impressions */
        v[i].fields &= ~(uint32_t)(RS_F_DEVICE | RS_F_REC_VERSION);
    ASSERT_OK(rs_avro_file_write_events(path_of("r.avro"), v, N_AVRO, 1, err, sizeof(err)));
    FILE *f = fopen(path_of("r.csv"), "w");
    ASSERT(f != NULL);
    fprintf(f, "ts_ms,user_id,item_id,type,session_id,price,category\n");
    for (int i = 0; i < N_AVRO; i++) {
        const rs_event_t *e = &v[i];
        fprintf(f, "%lld,%.*s,%.*s,%s,%.*s,", (long long)e->ts_ms, (int)e->user_id.len,
                e->user_id.p, (int)e->item_id.len, e->item_id.p, rs_evtype_name(e->type),
                (int)e->session_id.len, e->session_id.p ? e->session_id.p : "");
        if (e->fields & RS_F_PRICE) fprintf(f, "%.17g", e->price);
        fprintf(f, ",%.*s\n", (int)e->category.len, e->category.p ? e->category.p : "");
    }
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "'%s' replay -q --input '%s' --state '%s' >/dev/null 2>&1 && "
             "'%s' replay -q --input '%s' --state '%s' >/dev/null 2>&1",
             b, path_of("r.avro"), path_of("st-avro"), b, path_of("r.csv"), path_of("st-csv"));
    ASSERT_EQ(sh(cmd), 0);
    snprintf(cmd, sizeof(cmd), "'%s' diff '%s' '%s' >/dev/null", b, path_of("st-avro"),
             path_of("st-csv"));
    ASSERT_EQ(sh(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "'%s' state dump --state '%s' 2>/dev/null | grep -c '^user ' | grep -qx 37", b,
             path_of("st-avro"));
    ASSERT_EQ(sh(cmd), 0);
}

static void cleanup(void) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (sh(cmd)) fprintf(stderr, "could not remove %s\n", g_dir);
}

int main(void) {
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/rs-test-export-XXXXXX",
             t && *t && strlen(t) < 30 ? t : "/tmp");
    if (!mkdtemp(g_dir)) return 1;
    int rc = RUN_TESTS(t_foreach_and_delete, t_rec_line, t_avro_roundtrip, t_export_cli,
                       t_delete_user_cli, t_diff_jsonl_cli, t_diff_state_cli, t_avro_replay_cli);
    cleanup();
    return rc;
}
