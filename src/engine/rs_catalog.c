/* rs_catalog.c -- catalog records (topic.items) into the state.
 *
 * In: one consumed record of the compacted catalog topic; key = item id,
 * value = an Item (schemas/item.avsc) or empty for a tombstone.
 * Out: rs_state_item_meta() on the pipeline's state (category, brand, price,
 * stock flag, attributes; or the deleted flag), committed with the next
 * WriteBatch together with this record's offset.
 * Bad input: dead-lettered through the pipeline's sink with the reason
 * listed in rs_catalog.h; never stops consumption.
 *
 * Invariants
 * - The offset is recorded first, for good and bad records alike, so a bad
 *   record is not read again once its batch committed (as for events).
 * - The key names the record on a compacted topic (compaction and
 *   tombstones work by key), so a value whose item_id differs from its key
 *   is refused rather than applied to either item: a later tombstone for
 *   the key would not delete what the value created.
 * - The codec's "null" sentinels (-INFINITY price, INT64_MIN stock) become
 *   the state's "unknown" (-1) here; only a real negative price is an error.
 *
 * The catalog owns a codec of its own: decoded strings live in that codec's
 * scratch memory until the next record, and the pipeline's codec stays
 * private to it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recstream/rs_catalog.h"
#include "recstream/rs_codec.h"

/* The state stores attributes with a 16-bit length. */
#define ATTRS_MAX 65535

struct rs_catalog {
    rs_pipeline_t *p;
    const rs_conf_t *conf;
    rs_stats_t *stats;
    rs_codec_t *codec;
};

rs_err_t rs_catalog_new(rs_catalog_t **out, rs_pipeline_t *p, const rs_conf_t *conf,
                        rs_stats_t *stats, char *errstr, size_t errstr_size) {
    rs_catalog_t *cat = rs_xcalloc(1, sizeof(*cat));
    *out = NULL;
    cat->p = p;
    cat->conf = conf;
    cat->stats = stats;
    rs_err_t err = rs_codec_new(&cat->codec, errstr, errstr_size);
    if (err) goto fail;
    *out = cat;
    return RS_OK;
fail:
    rs_catalog_destroy(cat);
    return err;
}

void rs_catalog_destroy(rs_catalog_t *cat) {
    if (!cat) return;
    rs_codec_destroy(cat->codec);
    free(cat);
}

static int id_len_ok(const rs_catalog_t *cat, size_t len) {
    return len > 0 &&
           (cat->conf->validate_max_id_len <= 0 || len <= (size_t)cat->conf->validate_max_id_len);
}

/* Range checks on a decoded record; fills in the id from the key if the
 * value has none and turns the codec's null sentinels into "unknown". */
static rs_reject_t check(const rs_catalog_t *cat, const rs_msg_t *m, rs_item_meta_t *im,
                         char *detail, size_t size) {
    if (!im->item_id.p) {
        if (!m->key || !m->key_len) {
            snprintf(detail, size, "no item_id in the value and no record key");
            return RS_REJ_MISSING_FIELD;
        }
        im->item_id = rs_str(m->key, (uint32_t)m->key_len);
    } else if (m->key && m->key_len &&
               (m->key_len != im->item_id.len || memcmp(m->key, im->item_id.p, m->key_len) != 0)) {
        snprintf(detail, size, "record key \"%.*s\" differs from item_id \"%.*s\"",
                 (int)(m->key_len > 64 ? 64 : m->key_len), (const char *)m->key,
                 (int)(im->item_id.len > 64 ? 64 : im->item_id.len), im->item_id.p);
        return RS_REJ_BAD_ID;
    }
    if (!id_len_ok(cat, im->item_id.len)) {
        snprintf(detail, size, "item_id of %u bytes (1..%d allowed)", im->item_id.len,
                 cat->conf->validate_max_id_len);
        return RS_REJ_BAD_ID;
    }
    double price = im->price;
    if (isnan(price) || price == INFINITY) {
        snprintf(detail, size, "price is not finite");
        return RS_REJ_BAD_PRICE;
    }
    if (price == -INFINITY) {
        im->price = -1; /* null: unknown */
    } else if (price < 0) {
        snprintf(detail, size, "price %g < 0", price);
        return RS_REJ_NEGATIVE_PRICE;
    } else if (cat->conf->validate_max_price > 0 && price > cat->conf->validate_max_price) {
        snprintf(detail, size, "price %g > validate.max.price %g", price,
                 cat->conf->validate_max_price);
        return RS_REJ_BAD_PRICE;
    }
    if (im->stock == INT64_MIN)
        im->stock = -1; /* null: unknown */
    else if (im->stock < 0)
        im->stock = 0; /* oversold: nothing to sell */
    if (im->attrs.len > ATTRS_MAX) {
        snprintf(detail, size, "attributes of %u bytes > %d", im->attrs.len, ATTRS_MAX);
        return RS_REJ_OVERSIZE;
    }
    /* the state keeps attributes as a C string */
    if (im->attrs.len && memchr(im->attrs.p, '\0', im->attrs.len)) {
        snprintf(detail, size, "NUL byte in attributes");
        return RS_REJ_MALFORMED;
    }
    return RS_REJ_NONE;
}

rs_reject_t rs_catalog_process(rs_catalog_t *cat, const rs_msg_t *m) {
    rs_state_t *st = rs_pipeline_state(cat->p);
    char detail[256];
    rs_reject_t r = RS_REJ_NONE;
    rs_item_meta_t im;
    cat->stats->catalog_records++;
    if (m->topic) rs_state_offset_consumed(st, m->topic, m->partition, m->offset);

    if (!m->payload || !m->len) { /* tombstone */
        if (!m->key || !m->key_len) {
            snprintf(detail, sizeof(detail), "tombstone without a record key");
            r = RS_REJ_MISSING_FIELD;
        } else if (!id_len_ok(cat, m->key_len)) {
            snprintf(detail, sizeof(detail), "tombstone key of %zu bytes (1..%d allowed)",
                     m->key_len, cat->conf->validate_max_id_len);
            r = RS_REJ_BAD_ID;
        } else {
            memset(&im, 0, sizeof(im));
            im.item_id = rs_str(m->key, (uint32_t)m->key_len);
            im.price = -1;
            im.stock = -1;
            im.deleted = 1;
            rs_state_item_meta(st, &im);
            return RS_REJ_NONE;
        }
    } else if (cat->conf->validate_max_bytes > 0 &&
               m->len > (size_t)cat->conf->validate_max_bytes) {
        snprintf(detail, sizeof(detail), "record of %zu bytes > validate.max.bytes %d", m->len,
                 cat->conf->validate_max_bytes);
        r = RS_REJ_OVERSIZE;
    } else if (rs_codec_decode_item(cat->codec, m->payload, m->len,
                                    (rs_format_t)cat->conf->input_format, &im, detail,
                                    sizeof(detail))) {
        r = RS_REJ_MALFORMED;
    } else if ((r = check(cat, m, &im, detail, sizeof(detail))) == RS_REJ_NONE) {
        rs_state_item_meta(st, &im);
        return RS_REJ_NONE;
    }
    cat->stats->catalog_rejected++;
    rs_pipeline_reject(cat->p, m, r, detail);
    return r;
}
