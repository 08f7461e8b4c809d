/* rs_state_codec.c -- the stored item and user records (the "items" and
 * "users" rows of KEY ENCODING in rs_state.c): encode from and decode into
 * the in-memory structs.
 *
 * Every record starts with a version byte; later fields came with a version
 * bump or as optional trailing blocks (the item's detector state, the user's
 * behaviour and watch blocks), so a newer build reads every older record
 * without a migration; a decode that does not end exactly at the record's
 * end is corrupt. Names (category, brand) are stored as strings, never as
 * interned indexes: those only hold within one process.
 * rs_state__user_scan (rs_state_ttl.c) walks the same user layout without
 * the state, for the compaction filter threads; change both together. */
#include <math.h>
#include <string.h>

#include "rs_state_int.h"

static void put_str16(rs_buf_t *v, const char *p, uint32_t len) {
    if (len > 65535) len = 65535;
    unsigned char l[2] = {(unsigned char)len, (unsigned char)(len >> 8)};
    rs_buf_append(v, l, 2);
    rs_buf_append(v, p, len);
}

void rs_state__item_encode(const rs_state_t *st, const rs_item_t *it, rs_buf_t *v) {
    unsigned char b[1 + 4 + 4 * RS_EV__COUNT + 8 + 8 + 8 + 8 + 1 + 8 + 8 + 8], *p = b;
    *p++ = 2;
    rs_put_u32(p, it->idx), p += 4;
    for (int i = 0; i < RS_EV__COUNT; i++) rs_put_u32(p, it->counts[i]), p += 4;
    rs_put_u64(p, it->weight), p += 8;
    uint64_t f;
    memcpy(&f, &it->pop_log, 8);
    rs_put_u64(p, f), p += 8;
    rs_put_u64(p, (uint64_t)it->first_ts), p += 8;
    rs_put_u64(p, (uint64_t)it->last_ts), p += 8;
    *p++ = it->flags & (uint8_t)~RS_ITEM_BLOCKED; /* the blocklist is config, not state */
    memcpy(&f, &it->price, 8);
    rs_put_u64(p, f), p += 8;
    rs_put_u64(p, it->pop_seq), p += 8;
    memcpy(&f, &it->trend_log, 8);
    rs_put_u64(p, f), p += 8;
    rs_buf_reset(v);
    rs_buf_append(v, b, (size_t)(p - b));
    uint32_t n;
    const char *s = rs_state_name(st, it->category, &n);
    put_str16(v, s, n);
    s = rs_state_name(st, it->brand, &n);
    put_str16(v, s, n);
    put_str16(v, it->attrs ? it->attrs : "", it->attrs ? (uint32_t)strlen(it->attrs) : 0);
    unsigned char a[RS_ALERT_STATE_MAX_BYTES];
    size_t an = rs_alert_item_encode(&it->alert, a);
    put_str16(v, (const char *)a, (uint32_t)an);
}

static int get_str16(const unsigned char **p, const unsigned char *end, const char **s,
                     uint32_t *len) {
    if (end - *p < 2) return -1;
    *len = (uint32_t)(*p)[0] | (uint32_t)(*p)[1] << 8;
    if ((size_t)(end - *p - 2) < *len) return -1;
    *s = (const char *)*p + 2;
    *p += 2 + *len;
    return 0;
}

int rs_state__item_decode(rs_state_t *st, rs_item_t *it, const unsigned char *p, size_t len) {
    const size_t v1 = 1 + 4 + 4 * RS_EV__COUNT + 32;
    const unsigned char *end = p + len;
    if (len < v1 || (p[0] != 1 && p[0] != 2) || (p[0] == 1 && len != v1)) return -1;
    int ver = *p++;
    it->idx = rs_get_u32(p), p += 4;
    for (int i = 0; i < RS_EV__COUNT; i++) it->counts[i] = rs_get_u32(p), p += 4;
    it->weight = rs_get_u64(p), p += 8;
    uint64_t f = rs_get_u64(p);
    memcpy(&it->pop_log, &f, 8), p += 8;
    it->first_ts = (int64_t)rs_get_u64(p), p += 8;
    it->last_ts = (int64_t)rs_get_u64(p), p += 8;
    it->price = -1;
    it->trend_log = -INFINITY;
    if (ver == 1) return 0;
    if (end - p < 25) return -1;
    it->flags = *p++;
    f = rs_get_u64(p), p += 8;
    memcpy(&it->price, &f, 8);
    it->pop_seq = rs_get_u64(p), p += 8;
    f = rs_get_u64(p), p += 8;
    memcpy(&it->trend_log, &f, 8);
    const char *s;
    uint32_t n;
    if (get_str16(&p, end, &s, &n)) return -1;
    it->category = rs_state__name_ix(st, s, n);
    if (get_str16(&p, end, &s, &n)) return -1;
    it->brand = rs_state__name_ix(st, s, n);
    if (get_str16(&p, end, &s, &n)) return -1;
    it->attrs = n ? rs_xstrndup(s, n) : NULL;
    if (p == end) return 0; /* written before the detectors existed */
    if (get_str16(&p, end, &s, &n) || p != end) return -1;
    return rs_alert_item_decode(&it->alert, (const unsigned char *)s, n);
}

/* The behaviour block after the recommendation fields (absent in profiles
 * written before it existed): u8 ver=1, i64 dwell_ms, u32 dwell_n,
 * u8 last_type, i64 first/last purchase ts, u32 tod[4], u32 device[4],
 * f64 price_sum, u32 price_n, then u8 n + n x (u16 len, name, f64 log_w)
 * for categories and for brands. Names, not interned indexes: those are
 * only stable within one process. */
static void behaviour_encode(const rs_state_t *st, const rs_user_t *u, rs_buf_t *v) {
    unsigned char b[1 + 8 + 4 + 1 + 16 + 16 + 16 + 12], *p = b;
    *p++ = 1;
    rs_put_u64(p, (uint64_t)u->dwell_ms), p += 8;
    rs_put_u32(p, u->dwell_n), p += 4;
    *p++ = u->last_type;
    rs_put_u64(p, (uint64_t)u->first_purchase_ts), p += 8;
    rs_put_u64(p, (uint64_t)u->last_purchase_ts), p += 8;
    for (int i = 0; i < RS_TOD__COUNT; i++) rs_put_u32(p, u->tod[i]), p += 4;
    for (int i = 0; i < RS_DEV__COUNT; i++) rs_put_u32(p, u->device[i]), p += 4;
    uint64_t f;
    memcpy(&f, &u->price_sum, 8);
    rs_put_u64(p, f), p += 8;
    rs_put_u32(p, u->price_n), p += 4;
    rs_buf_append(v, b, (size_t)(p - b));
    const rs_affinity_t *tab[2] = {u->cat_aff, u->brand_aff};
    const int cnt[2] = {RS_PROFILE_CATS, RS_PROFILE_BRANDS};
    for (int k = 0; k < 2; k++) {
        unsigned char n = 0;
        for (int i = 0; i < cnt[k]; i++) n += tab[k][i].ix != 0;
        rs_buf_append(v, &n, 1);
        for (int i = 0; i < cnt[k]; i++) {
            if (!tab[k][i].ix) continue;
            uint32_t nl;
            const char *nm = rs_state_name(st, tab[k][i].ix, &nl);
            put_str16(v, nm, nl);
            unsigned char w[8];
            memcpy(&f, &tab[k][i].log_w, 8);
            rs_put_u64(w, f);
            rs_buf_append(v, w, 8);
        }
    }
}

/* The watch block after the behaviour block (absent in older profiles):
 * u16 len + detector state (rs_alert.c), u16 len + segment state
 * (rs_segment.c); each module versions its own bytes. */
static void watch_encode(const rs_user_t *u, rs_buf_t *v) {
    unsigned char b[RS_ALERT_STATE_MAX_BYTES + RS_SEGMENT_STATE_MAX_BYTES];
    size_t n = rs_alert_user_encode(&u->alert, b);
    put_str16(v, (const char *)b, (uint32_t)n);
    n = rs_segment_user_encode(&u->seg, b);
    put_str16(v, (const char *)b, (uint32_t)n);
}

static int watch_decode(rs_user_t *u, const unsigned char *p, const unsigned char *end) {
    const char *s;
    uint32_t n;
    if (get_str16(&p, end, &s, &n) || rs_alert_user_decode(&u->alert, (const unsigned char *)s, n))
        return -1;
    if (get_str16(&p, end, &s, &n) || rs_segment_user_decode(&u->seg, (const unsigned char *)s, n))
        return -1;
    return p == end ? 0 : -1;
}

static int behaviour_decode(rs_state_t *st, rs_user_t *u, const unsigned char *p,
                            const unsigned char *end) {
    if (end - p < 1 + 8 + 4 + 1 + 16 + 16 + 16 + 12 || p[0] != 1) return -1;
    p++;
    u->dwell_ms = (int64_t)rs_get_u64(p), p += 8;
    u->dwell_n = rs_get_u32(p), p += 4;
    u->last_type = *p++;
    u->first_purchase_ts = (int64_t)rs_get_u64(p), p += 8;
    u->last_purchase_ts = (int64_t)rs_get_u64(p), p += 8;
    for (int i = 0; i < RS_TOD__COUNT; i++) u->tod[i] = rs_get_u32(p), p += 4;
    for (int i = 0; i < RS_DEV__COUNT; i++) u->device[i] = rs_get_u32(p), p += 4;
    uint64_t f = rs_get_u64(p);
    memcpy(&u->price_sum, &f, 8), p += 8;
    u->price_n = rs_get_u32(p), p += 4;
    rs_affinity_t *tab[2] = {u->cat_aff, u->brand_aff};
    const int cnt[2] = {RS_PROFILE_CATS, RS_PROFILE_BRANDS};
    for (int k = 0; k < 2; k++) {
        if (p >= end) return -1;
        int n = *p++;
        if (n > cnt[k]) return -1;
        for (int i = 0; i < n; i++) {
            const char *nm;
            uint32_t nl;
            if (get_str16(&p, end, &nm, &nl) || end - p < 8) return -1;
            tab[k][i].ix = rs_state__name_ix(st, nm, nl);
            f = rs_get_u64(p), p += 8;
            memcpy(&tab[k][i].log_w, &f, 8);
        }
    }
    return p == end ? 0 : watch_decode(u, p, end);
}

void rs_state__user_encode(const rs_state_t *st, const rs_user_t *u, rs_buf_t *v) {
    rs_buf_reset(v);
    unsigned char b[64 + 4 * RS_EV__COUNT], *p = b;
    *p++ = 2;
    for (int i = 0; i < RS_EV__COUNT; i++) rs_put_u32(p, u->counts[i]), p += 4;
    rs_put_u64(p, (uint64_t)u->first_ts), p += 8;
    rs_put_u64(p, (uint64_t)u->last_ts), p += 8;
    rs_put_u32(p, u->sessions), p += 4;
    rs_put_u64(p, u->session_hash), p += 8;
    rs_put_u32(p, u->purchases), p += 4;
    uint64_t f;
    memcpy(&f, &u->monetary, 8);
    rs_put_u64(p, f), p += 8;
    p[0] = (unsigned char)u->n_recent, p[1] = (unsigned char)(u->n_recent >> 8), p += 2;
    rs_buf_append(v, b, (size_t)(p - b));
    for (uint16_t i = 0; i < u->n_recent; i++) {
        unsigned char r[13];
        rs_put_u32(r, u->recent[i].item);
        r[4] = u->recent[i].type;
        rs_put_u64(r + 5, (uint64_t)u->recent[i].ts);
        rs_buf_append(v, r, sizeof(r));
    }
    unsigned char m[2] = {(unsigned char)u->n_purchased, (unsigned char)(u->n_purchased >> 8)};
    rs_buf_append(v, m, 2);
    for (uint16_t i = 0; i < u->n_purchased; i++) {
        unsigned char r[12];
        rs_put_u32(r, u->purchased[i]);
        rs_put_u64(r + 4, (uint64_t)u->purchased_ts[i]);
        rs_buf_append(v, r, 12);
    }
    unsigned char rb[24];
    rs_put_u64(rb, (uint64_t)u->rec_version);
    rs_put_u64(rb + 8, u->rec_hash);
    rs_put_u64(rb + 16, (uint64_t)u->rec_emit_ms);
    rs_buf_append(v, rb, 24);
    behaviour_encode(st, u, v);
    watch_encode(u, v);
}

int rs_state__user_decode(rs_state_t *st, rs_user_t *u, const unsigned char *p, size_t len) {
    const rs_conf_t *conf = st->conf;
    const unsigned char *end = p + len;
    size_t fixed = 1 + 4 * RS_EV__COUNT + 8 + 8 + 4 + 8 + 4 + 8 + 2;
    if (len < fixed || (p[0] != 1 && p[0] != 2)) return -1;
    size_t pe = *p++ == 1 ? 4 : 12; /* v1 purchases have no time */
    for (int i = 0; i < RS_EV__COUNT; i++) u->counts[i] = rs_get_u32(p), p += 4;
    u->first_ts = (int64_t)rs_get_u64(p), p += 8;
    u->last_ts = (int64_t)rs_get_u64(p), p += 8;
    u->sessions = rs_get_u32(p), p += 4;
    u->session_hash = rs_get_u64(p), p += 8;
    u->purchases = rs_get_u32(p), p += 4;
    uint64_t f = rs_get_u64(p);
    memcpy(&u->monetary, &f, 8), p += 8;
    unsigned n = (unsigned)p[0] | (unsigned)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < (size_t)n * 13 + 2) return -1;
    u->n_recent = 0;
    rs_state__user_reserve(
        u, (uint16_t)(n < (unsigned)conf->recent_items ? n : (unsigned)conf->recent_items), 0);
    for (unsigned i = 0; i < n; i++, p += 13) {
        if (u->n_recent >= conf->recent_items) continue; /* ring shrunk by config */
        rs_recent_t *r = &u->recent[u->n_recent++];
        r->item = rs_get_u32(p);
        r->type = p[4];
        r->ts = (int64_t)rs_get_u64(p + 5);
    }
    unsigned m = (unsigned)p[0] | (unsigned)p[1] << 8;
    p += 2;
    if ((size_t)(end - p) < (size_t)m * pe + 24) return -1;
    u->n_purchased = 0;
    rs_state__user_reserve(
        u, 0, (uint16_t)(m < (unsigned)conf->purchased_max ? m : (unsigned)conf->purchased_max));
    for (unsigned i = 0; i < m; i++, p += pe) {
        if (u->n_purchased >= conf->purchased_max) continue;
        u->purchased_ts[u->n_purchased] = pe == 12 ? (int64_t)rs_get_u64(p + 4) : 0;
        u->purchased[u->n_purchased++] = rs_get_u32(p);
    }
    u->rec_version = (int64_t)rs_get_u64(p);
    u->rec_hash = rs_get_u64(p + 8);
    u->rec_emit_ms = (int64_t)rs_get_u64(p + 16);
    p += 24;
    return p == end ? 0 : behaviour_decode(st, u, p, end);
}
