/* cmd_state.c -- `recstream state dump --state DIR`: canonical state text. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "recstream/rs_state.h"
#include "rs_cli.h"

int cmd_state(int argc, char **argv) {
    static const struct option lo[] = {{"state", required_argument, 0, 's'},
                                       {"config", required_argument, 0, 'c'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    const char *dir = NULL;
    int c;
    if (argc < 2 || strcmp(argv[1], "dump")) {
        fprintf(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr,
                "usage: recstream state dump --state DIR [-c FILE] [-X key=value]...\n"
                "  Prints the exact state (counts, co-occurrence, profiles, offsets), sorted;\n"
                "  identical for two runs that applied the same events.\n");
        return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : RS_EXIT_FAIL;
    }
    argc--, argv++;
    while ((c = getopt_long(argc, argv, "c:X:s:h", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            cc.file = optarg;
            break;
        case 'X':
            rs_cli_conf_add_x(&cc, optarg);
            break;
        case 's':
            dir = optarg;
            break;
        case 'h':
            printf("usage: recstream state dump --state DIR\n");
            rs_cli_conf_free(&cc);
            return 0;
        default:
            rs_cli_conf_free(&cc);
            return RS_EXIT_FAIL;
        }
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream state");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;
    char err[512];
    if (dir) rs_conf_set(conf, "state.dir", dir, "--state", err, sizeof(err));
    rs_state_t *st = NULL;
    int rc = rs_state_open_ro(&st, conf, err, sizeof(err));
    if (!rc) rc = rs_state_dump(st, stdout, err, sizeof(err));
    if (rc) fprintf(stderr, "recstream state: %s\n", err);
    rs_state_close(st);
    rs_conf_destroy(conf);
    return rc ? 1 : 0;
}
