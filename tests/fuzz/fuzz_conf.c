/* fuzz_conf.c -- the configuration loader: a properties file
 * (rs_conf_load_file, through a memory-backed file) followed by -X
 * overrides (rs_conf_set_kv), the cross-field check and the dump.
 *
 * Input: the file, optionally followed by a line "%%"; each line after it
 * is one -X argument (as the shell would pass it, without the newline).
 * Checked:
 *   - the loader returns RS_OK or RS_ECONF with "FILE:LINE: " in front of
 *     the message (never RS_EIO for a readable file); -X errors start "-X";
 *   - rs_conf_check returns RS_OK or RS_ECONF with a message;
 *   - the effective-config dump is itself a valid config file that loads
 *     back to the same dump (string values of 511+ bytes are cut by the
 *     dump's buffer, so those confs are not compared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "recstream/rs_buf.h"
#include "recstream/rs_conf.h"

#define SEP "\n%%\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const rs_conf_t *conf, size_t *len) {
    char *p = NULL;
    FILE *f = open_memstream(&p, len);
    FZ_CHECK(f != NULL, "open_memstream");
    rs_conf_dump(conf, f);
    fclose(f);
    return p;
}

/* Would the dump cut a string value? (rs_conf_dump formats into 512 bytes.) */
static int has_long_string(const rs_conf_t *conf) {
    for (const rs_conf_prop_t *p = rs_conf_props; p->name; p++)
        if (p->type == RS_CONF_STR &&
            strlen(*(char *const *)((const char *)conf + p->offset)) >= 511)
            return 1;
    return 0;
}

static void reload_dump(const rs_conf_t *conf) {
    size_t len1, len2;
    char *d1 = dump(conf, &len1), err[1024];
    const char *path = fz_file("fuzz_conf", (const uint8_t *)d1, len1);
    rs_conf_t *back = rs_conf_new();
    rs_err_t rc = rs_conf_load_file(back, path, err, sizeof(err));
    FZ_CHECK(!rc, "the dump does not load back: %s", err);
    char *d2 = dump(back, &len2);
    FZ_CHECK(len1 == len2 && !memcmp(d1, d2, len1), "dump changed on reload:\n%s\n---\n%s", d1, d2);
    free(d1);
    free(d2);
    rs_conf_destroy(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    const char *sep = memmem(text, size, SEP, strlen(SEP));
    size_t flen = sep ? (size_t)(sep - text) + 1 : size; /* the file keeps its last newline */
    char err[1024];
    rs_conf_t *conf = rs_conf_new();

    const char *path = fz_file("fuzz_conf", data, flen);
    err[0] = '\0';
    rs_err_t rc = rs_conf_load_file(conf, path, err, sizeof(err));
    if (rc) {
        FZ_CHECK(rc == RS_ECONF, "rc %d: %s", rc, err);
        size_t n = strlen(path);
        FZ_CHECK(!strncmp(err, path, n) && err[n] == ':' && err[n + 1] >= '1' && err[n + 1] <= '9',
                 "reason without FILE:LINE: \"%s\"", err);
        goto out;
    }
    if (sep) {
        const char *p = sep + strlen(SEP), *end = text + size;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            char *arg = rs_xstrndup(p, n); /* cut at a NUL, as argv would be */
            rc = rs_conf_set_kv(conf, arg, err, sizeof(err));
            free(arg);
            if (rc) {
                FZ_CHECK(rc == RS_ECONF && !strncmp(err, "-X", 2), "rc %d: \"%s\"", rc, err);
                goto out;
            }
            p += n + 1;
        }
    }
    rc = rs_conf_check(conf, err, sizeof(err));
    FZ_CHECK(rc == RS_OK || (rc == RS_ECONF && err[0]), "check rc %d", rc);
    if (!has_long_string(conf)) reload_dump(conf);
out:
    rs_conf_destroy(conf);
    return 0;
}
