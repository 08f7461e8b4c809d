/* cmd_config.c -- `recstream config`: effective config / reference page. */
#include <getopt.h>
#include <stdio.h>

#include "rs_cli.h"

int cmd_config(int argc, char **argv) {
    static const struct option lo[] = {{"config", required_argument, 0, 'c'},
                                       {"reference", no_argument, 0, 'r'},
                                       {"keys", no_argument, 0, 'k'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    rs_cli_conf_t cc = {0};
    int c, ref = 0, keys = 0;
    while ((c = getopt_long(argc, argv, "c:X:h", lo, NULL)) != -1) {
        switch (c) {
        case 'c':
            cc.file = optarg;
            break;
        case 'X':
            rs_cli_conf_add_x(&cc, optarg);
            break;
        case 'r':
            ref = 1;
            break;
        case 'k':
            keys = 1;
            break;
        case 'h':
            printf("usage: recstream config [-c FILE] [-X key=value]... [--reference|--keys]\n"
                   "  (default) check the configuration and print it, secrets masked\n"
                   "  --reference  Markdown reference (docs/CONFIGURATION.md)\n"
                   "  --keys       one line per key with its default\n");
            rs_cli_conf_free(&cc);
            return 0;
        default:
            rs_cli_conf_free(&cc);
            return RS_EXIT_FAIL;
        }
    }
    if (ref || keys) {
        rs_cli_conf_free(&cc);
        if (ref)
            rs_conf_write_reference(stdout);
        else
            rs_conf_write_help(stdout);
        return 0;
    }
    rs_conf_t *conf = rs_cli_conf_build(&cc, "recstream config");
    rs_cli_conf_free(&cc);
    if (!conf) return RS_EXIT_FAIL;
    rs_conf_dump(conf, stdout);
    rs_conf_destroy(conf);
    return 0;
}
