/* fuzz_util.h -- helpers shared by the libFuzzer harnesses in tests/fuzz.
 *
 * Every harness is one file defining LLVMFuzzerTestOneInput (and optionally
 * LLVMFuzzerInitialize). Built two ways (tests/fuzz/README.md):
 *   - with clang -fsanitize=fuzzer (CMake RS_FUZZ=ON, tools/fuzz): a fuzzer;
 *   - with the normal compiler, renamed by -D to rs_fuzz_one_<name> /
 *     rs_fuzz_init_<name>, linked into one `fuzz_corpus` executable
 *     (driver.c) that replays tests/fuzz/corpus/ in ctest.
 * So a harness must not rely on process-wide state another harness touches,
 * and must be deterministic for a given input (a crash must reproduce).
 *
 * Invariant violations abort() with a message: libFuzzer reports an abort
 * as a crash, and the corpus replay dies under ctest the same way. */
#ifndef RS_FUZZ_UTIL_H
#define RS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Reads every byte of s[0..n) so that ASan flags a string that points
 * outside live memory; the result is used so the loop is not dropped. */
static inline uint64_t fz_touch(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Memory-backed file for the parsers that take a path: the input is written
 * to one memfd per process, reopened through /proc/self/fd (a new open file
 * description, so the reader gets its own offset). No disk I/O, nothing to
 * clean up. Returns the path, valid until the next call. */
static inline const char *fz_file(const char *tag, const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create(tag, MFD_CLOEXEC);
        FZ_CHECK(fd >= 0, "memfd_create failed");
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    FZ_CHECK(ftruncate(fd, 0) == 0, "ftruncate failed");
    size_t off = 0;
    while (off < size) {
        ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);
        FZ_CHECK(n > 0, "pwrite failed");
        off += (size_t)n;
    }
    return path;
}

/* Splits off the first byte as a selector; 0 if the input is empty. */
static inline int fz_take_byte(const uint8_t **data, size_t *size, uint8_t *out) {
    if (!*size) return 0;
    *out = **data;
    (*data)++;
    (*size)--;
    return 1;
}

#endif
