/* driver.c -- replays the seed corpora through every harness without
 * libFuzzer, so the ordinary build (gcc, ASan+UBSan in CI) runs them as the
 * ctest `fuzz_corpus`.
 *
 * CMake compiles each tests/fuzz/fuzz_NAME.c with LLVMFuzzerTestOneInput
 * and LLVMFuzzerInitialize renamed to rs_fuzz_one_NAME / rs_fuzz_init_NAME
 * and lists the names in rs_fuzz_list.h (RS_FUZZ_HARNESS(NAME) lines).
 *
 * Usage: fuzz_corpus CORPUS_DIR            every harness over the files in CORPUS_DIR/fuzz_NAME/
 *        fuzz_corpus NAME FILE_OR_DIR...   one harness (e.g. a crash input)
 * Prints one line per harness with the number of inputs; exits 1 if a
 * harness has no seeds (a missing corpus would pass silently otherwise). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef int(fuzz_one_fn)(const uint8_t *data, size_t size);
typedef int(fuzz_init_fn)(int *argc, char ***argv);

#define RS_FUZZ_HARNESS(name)                                                                      \
    int rs_fuzz_one_##name(const uint8_t *data, size_t size);                                      \
    int rs_fuzz_init_##name(int *argc, char ***argv) __attribute__((weak));
#include "rs_fuzz_list.h"
#undef RS_FUZZ_HARNESS

static const struct harness {
    const char *name;
    fuzz_one_fn *one;
    fuzz_init_fn *init;
} harnesses[] = {
#define RS_FUZZ_HARNESS(name) {#name, rs_fuzz_one_##name, rs_fuzz_init_##name},
#include "rs_fuzz_list.h"
#undef RS_FUZZ_HARNESS
};

static int run_file(const struct harness *h, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_corpus: cannot open %s\n", path);
        exit(2);
    }
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    /* an exact-size copy: ASan then sees a read one past the input */
    uint8_t *data = malloc(n ? n : 1);
    memcpy(data, buf, n);
    free(buf);
    h->one(data, n);
    free(data);
    return 1;
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir (sorted, so runs are reproducible), or
 * path itself if it is a file. Returns the number of inputs. */
static int run_path(const struct harness *h, const char *path) {
    struct stat sb;
    if (stat(path, &sb)) return 0;
    if (!S_ISDIR(sb.st_mode)) return run_file(h, path);
    DIR *d = opendir(path);
    if (!d) return 0;
    char **names = NULL;
    size_t cnt = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        names = realloc(names, (cnt + 1) * sizeof(*names));
        names[cnt++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, cnt, sizeof(*names), cmp);
    int runs = 0;
    for (size_t i = 0; i < cnt; i++) {
        size_t len = strlen(path) + strlen(names[i]) + 2;
        char *p = malloc(len);
        snprintf(p, len, "%s/%s", path, names[i]);
        if (!stat(p, &sb) && S_ISREG(sb.st_mode)) runs += run_file(h, p);
        free(p);
        free(names[i]);
    }
    free(names);
    return runs;
}

static void init(const struct harness *h, int *argc, char ***argv) {
    if (h->init) h->init(argc, argv);
}

int main(int argc, char **argv) {
    size_t nh = sizeof(harnesses) / sizeof(harnesses[0]);
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR | NAME FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    if (argc >= 3) {
        const char *want = strncmp(argv[1], "fuzz_", 5) ? argv[1] : argv[1] + 5;
        for (size_t i = 0; i < nh; i++) {
            const struct harness *h = &harnesses[i];
            if (strcmp(want, h->name)) continue;
            init(h, &argc, &argv);
            int runs = 0;
            for (int a = 2; a < argc; a++) runs += run_path(h, argv[a]);
            printf("fuzz_%s: %d inputs\n", h->name, runs);
            return 0;
        }
        fprintf(stderr, "fuzz_corpus: no harness named %s\n", argv[1]);
        return 2;
    }
    int missing = 0;
    for (size_t i = 0; i < nh; i++) {
        const struct harness *h = &harnesses[i];
        size_t len = strlen(argv[1]) + strlen(h->name) + 8;
        char *dir = malloc(len);
        snprintf(dir, len, "%s/fuzz_%s", argv[1], h->name);
        init(h, &argc, &argv);
        int runs = run_path(h, dir);
        printf("fuzz_%s: %d inputs\n", h->name, runs);
        if (!runs) {
            fprintf(stderr, "fuzz_corpus: no seeds in %s\n", dir);
            missing = 1;
        }
        free(dir);
    }
    return missing;
}
