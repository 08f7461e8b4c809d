/* main.c -- `recstream <command>`: a small, tidy CLI in the kcat mould. */
#include <stdio.h>
#include <string.h>

#include "recstream/rs_kafka.h"
#include "rs_cli.h"

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"run", cmd_run, "run the streaming daemon (Kafka in, state, recommendations out)"},
    {"demo", cmd_demo, "run the whole pipeline on an in-process Kafka mock with generated traffic"},
    {"bench", cmd_bench, "measure throughput, latency, memory and state size"},
    {"gen", cmd_gen, "write generated traffic (CSV, JSON lines, Avro, Kafka) and its ground truth"},
    {"config", cmd_config, "print the effective configuration or the reference"},
    {"replay", cmd_replay, "feed an event file through the pipeline into a state directory"},
    {"eval", cmd_eval, "prequential quality (HR, MRR, NDCG, coverage) on an event file"},
    {"state", cmd_state, "inspect a state directory (dump)"},
    {"export", cmd_export, "write a state directory as JSON lines (users, items, neighbours)"},
    {"delete-user", cmd_delete_user, "remove a user from a state directory (and tombstone)"},
    {"diff", cmd_diff, "compare two replay outputs or two state directories"},
    {"score", cmd_score, "score emitted alerts and segments against generator truth"},
    {"inspect", cmd_inspect,
     "show a user's profile and recommendations or an item's neighbours and rules"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: recstream <command> [options]   (recstream <command> --help)\n\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(out, "  %-11s %s\n", cmds[i].name, cmds[i].help);
    fprintf(out, "\nrecstream %s, librdkafka %s\n", "0.1.0", rs_kafka_version());
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? RS_EXIT_FAIL : 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("recstream 0.1.0 (librdkafka %s)\n", rs_kafka_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "recstream: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return RS_EXIT_FAIL;
}
