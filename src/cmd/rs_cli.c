/* rs_cli.c -- shared CLI plumbing: config assembly, process stats, temp dirs. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recstream/rs_buf.h"
#include "recstream/rs_log.h"
#include "rs_cli.h"

void rs_cli_conf_add_x(rs_cli_conf_t *c, const char *kv) {
    c->x = rs_xrealloc(c->x, (size_t)(c->n_x + 1) * sizeof(*c->x));
    c->x[c->n_x++] = kv;
}

void rs_cli_conf_free(rs_cli_conf_t *c) {
    free(c->x);
    c->x = NULL;
    c->n_x = 0;
}

int rs_cli_common_opt(int opt, const char *arg, rs_cli_conf_t *c, void (*usage)(FILE *),
                      int *exit_code) {
    switch (opt) {
    case 'c':
        c->file = arg;
        return 0;
    case 'X':
        rs_cli_conf_add_x(c, arg);
        return 0;
    case 'h':
        usage(stdout);
        *exit_code = 0;
        break;
    default: /* getopt already said what was wrong */
        usage(stderr);
        *exit_code = RS_EXIT_FAIL;
        break;
    }
    rs_cli_conf_free(c);
    return 1;
}

rs_conf_t *rs_cli_conf_load(const rs_cli_conf_t *c, char *errstr, size_t errstr_size) {
    rs_conf_t *conf = rs_conf_new();
    if (c->file && rs_conf_load_file(conf, c->file, errstr, errstr_size)) goto fail;
    for (int i = 0; i < c->n_x; i++)
        if (rs_conf_set_kv(conf, c->x[i], errstr, errstr_size)) goto fail;
    if (rs_conf_check(conf, errstr, errstr_size)) goto fail;
    return conf;
fail:
    rs_conf_destroy(conf);
    return NULL;
}

rs_conf_t *rs_cli_conf_build(rs_cli_conf_t *c, const char *prog) {
    char err[512];
    rs_conf_t *conf = rs_cli_conf_load(c, err, sizeof(err));
    if (!conf) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return NULL;
    }
    rs_log_level = (rs_log_level_t)conf->log_level;
    return conf;
}

double rs_cli_peak_rss_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    double kb = 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    fclose(f);
    return kb / 1024.0;
}

double rs_cli_cpu_s(clockid_t clk) {
    struct timespec ts;
    return clock_gettime(clk, &ts) ? 0 : (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t g_du;
static int du_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    if (flag == FTW_F) g_du += (uint64_t)sb->st_size;
    return 0;
}

uint64_t rs_cli_dir_bytes(const char *dir) {
    g_du = 0;
    nftw(dir, du_cb, 16, FTW_PHYS);
    return g_du;
}

char *rs_cli_tmpdir(const char *prefix) {
    const char *t = getenv("TMPDIR");
    rs_buf_t b = {0};
    rs_buf_printf(&b, "%s/%s-XXXXXX", t && *t ? t : "/tmp", prefix);
    rs_buf_cstr(&b);
    if (!mkdtemp(b.p)) {
        rs_buf_free(&b);
        return NULL;
    }
    return b.p;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(p);
}

void rs_cli_rmtree(const char *dir) {
    if (dir) nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
