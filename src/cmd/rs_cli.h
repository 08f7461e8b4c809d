/* rs_cli.h -- helpers shared by the subcommands (private to src/cmd). */
#ifndef RS_CLI_H
#define RS_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "recstream/rs_conf.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error. */
#define RS_EXIT_FAIL 2

/* Collects -c FILE and -X key=value in command-line order, then builds the
 * conf: defaults, file, -X overrides, cross-checks. Prints "FILE:LINE: ..."
 * and returns NULL on error. */
typedef struct rs_cli_conf {
    const char *file;
    const char **x;
    int n_x;
} rs_cli_conf_t;

void rs_cli_conf_add_x(rs_cli_conf_t *c, const char *kv);
/* File then -X in order, checked; NULL with errstr on an error. */
rs_conf_t *rs_cli_conf_load(const rs_cli_conf_t *c, char *errstr, size_t errstr_size);
/* rs_cli_conf_load, printing the error as "prog: ..."; sets the log level. */
rs_conf_t *rs_cli_conf_build(rs_cli_conf_t *c, const char *prog);
/* The options every command shares, for a getopt switch's default branch:
 * -c FILE and -X key=value are recorded in c (returns 0: go on parsing);
 * -h prints usage to stdout and an unknown option prints it to stderr,
 * then c is freed and 1 is returned with *exit_code 0 or RS_EXIT_FAIL. */
int rs_cli_common_opt(int opt, const char *arg, rs_cli_conf_t *c, void (*usage)(FILE *),
                      int *exit_code);
void rs_cli_conf_free(rs_cli_conf_t *c);

/* Peak resident set size of this process in MiB (VmHWM). */
double rs_cli_peak_rss_mb(void);
/* CPU seconds used so far by the calling thread (CLOCK_THREAD_CPUTIME_ID)
 * or the whole process (CLOCK_PROCESS_CPUTIME_ID); 0 if unavailable. */
double rs_cli_cpu_s(clockid_t clk);
/* Total size in bytes of the files under dir. */
uint64_t rs_cli_dir_bytes(const char *dir);
/* mkdtemp under $TMPDIR (or /tmp) with the given prefix; caller frees. */
char *rs_cli_tmpdir(const char *prefix);
/* rm -rf dir (only used on directories this process created). */
void rs_cli_rmtree(const char *dir);

int cmd_run(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_state(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_inspect(int, char **);
int cmd_export(int argc, char **argv);
int cmd_delete_user(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_score(int argc, char **argv);

#endif
