/* SHA-256 (FIPS 180-4) for the scanner core's keyed HMAC, from precomputed pad states.
 *
 * The core hashes every finding's normal form under a per-kind key: HMAC-SHA256(key, "kind:" + value), the first
 * 16 bytes in hex (detectors.redact.keyed_hmac). The key's ipad and opad blocks are compressed once
 * (pw_sha256_state); a value then costs one or two compressions for the inner hash and one for the outer, with no
 * allocation. tests/detectors/test_scan_core.py compares it with detectors.redact.KeyedHasher (hashlib).
 */
#ifndef PIPLWATCH_SHA256_H
#define PIPLWATCH_SHA256_H

#include <stdint.h>
#include <string.h>

static const uint32_t PW_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define PW_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void pw_sha256_compress(uint32_t st[8], const unsigned char *p) {
    uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) |
               (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = PW_ROR(w[i - 15], 7) ^ PW_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = PW_ROR(w[i - 2], 17) ^ PW_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = st[0]; b = st[1]; c = st[2]; d = st[3]; e = st[4]; f = st[5]; g = st[6]; h = st[7];
    for (i = 0; i < 64; i++) {
        t1 = h + (PW_ROR(e, 6) ^ PW_ROR(e, 11) ^ PW_ROR(e, 25)) + ((e & f) ^ (~e & g)) + PW_K[i] + w[i];
        t2 = (PW_ROR(a, 2) ^ PW_ROR(a, 13) ^ PW_ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

/* The same compression with the x86 SHA extensions (Intel SHA-NI: Goldmont, Ice Lake and later, AMD Zen), about
 * ten times faster; picked at run time (pw_sha256_has_ni) so the one build runs on CPUs without them. */
__attribute__((target("sha,sse4.1,ssse3"))) static void pw_sha256_compress_ni(uint32_t st[8], const unsigned char *p) {
    __m128i s0, s1, msg, tmp, abef, cdgh, m[4];
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    int g;
    tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[0]), 0xB1); /* CDAB */
    s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[4]), 0x1B);  /* EFGH */
    s0 = _mm_alignr_epi8(tmp, s1, 8);                                          /* ABEF */
    s1 = _mm_blend_epi16(s1, tmp, 0xF0);                                       /* CDGH */
    abef = s0;
    cdgh = s1;
    for (g = 0; g < 16; g++) { /* four rounds per step, the message schedule four words ahead */
        if (g < 4) m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), mask);
        msg = _mm_add_epi32(m[g & 3], _mm_loadu_si128((const __m128i *)&PW_K[4 * g]));
        s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
        if (g >= 3 && g <= 14) {
            tmp = _mm_alignr_epi8(m[g & 3], m[(g + 3) & 3], 4);
            m[(g + 1) & 3] = _mm_sha256msg2_epu32(_mm_add_epi32(m[(g + 1) & 3], tmp), m[g & 3]);
        }
        msg = _mm_shuffle_epi32(msg, 0x0E);
        s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
        if (g >= 1 && g <= 12) m[(g + 3) & 3] = _mm_sha256msg1_epu32(m[(g + 3) & 3], m[g & 3]);
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
    tmp = _mm_shuffle_epi32(s0, 0x1B);   /* FEBA */
    s1 = _mm_shuffle_epi32(s1, 0xB1);    /* DCHG */
    s0 = _mm_blend_epi16(tmp, s1, 0xF0); /* DCBA */
    s1 = _mm_alignr_epi8(s1, tmp, 8);    /* HGFE */
    _mm_storeu_si128((__m128i *)&st[0], s0);
    _mm_storeu_si128((__m128i *)&st[4], s1);
}

static int pw_sha256_has_ni(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 9)) || !(c & (1u << 19))) return 0; /* SSSE3, SSE4.1 */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1; /* SHA */
}
#else
static void pw_sha256_compress_ni(uint32_t st[8], const unsigned char *p) { pw_sha256_compress(st, p); }
static int pw_sha256_has_ni(void) { return 0; }
#endif

/* 1: the SHA extensions, 0: portable C; set by pw_sha256_select (the core calls it at import; tests set both). */
static int pw_sha256_use_ni = 0;

static int pw_sha256_select(int want_ni) {
    pw_sha256_use_ni = want_ni && pw_sha256_has_ni();
    return pw_sha256_use_ni;
}

static inline void pw_sha256_block(uint32_t st[8], const unsigned char *p) {
    if (pw_sha256_use_ni)
        pw_sha256_compress_ni(st, p);
    else
        pw_sha256_compress(st, p);
}

/* The state after one 64-byte block from the initial value (an HMAC pad block). */
static void pw_sha256_state(uint32_t st[8], const unsigned char block[64]) {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(st, iv, sizeof(iv));
    pw_sha256_block(st, block);
}

/* Finish a hash whose first 64 bytes are absorbed in `mid`: hash the `n` bytes `a` then the `m` bytes `b`. */
static void pw_sha256_finish(const uint32_t mid[8], const unsigned char *a, size_t n, const unsigned char *b,
                             size_t m, unsigned char out[32]) {
    uint32_t st[8];
    unsigned char blk[64];
    size_t fill = 0, total = 64 + n + m, i;
    uint64_t bits;
    const unsigned char *src[2] = {a, b};
    size_t len[2] = {n, m};
    int k;
    memcpy(st, mid, sizeof(st));
    for (k = 0; k < 2; k++) {
        const unsigned char *p = src[k];
        size_t left = len[k];
        while (left) {
            size_t take = 64 - fill < left ? 64 - fill : left;
            memcpy(blk + fill, p, take);
            fill += take;
            p += take;
            left -= take;
            if (fill == 64) {
                pw_sha256_block(st, blk);
                fill = 0;
            }
        }
    }
    blk[fill++] = 0x80;
    if (fill > 56) {
        memset(blk + fill, 0, 64 - fill);
        pw_sha256_block(st, blk);
        fill = 0;
    }
    memset(blk + fill, 0, 56 - fill);
    bits = (uint64_t)total * 8;
    for (i = 0; i < 8; i++) blk[63 - i] = (unsigned char)(bits >> (8 * i));
    pw_sha256_block(st, blk);
    for (i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(st[i] >> 24);
        out[4 * i + 1] = (unsigned char)(st[i] >> 16);
        out[4 * i + 2] = (unsigned char)(st[i] >> 8);
        out[4 * i + 3] = (unsigned char)st[i];
    }
}

/* HMAC-SHA256 from the pad states: the first 16 bytes of the MAC of prefix + value, as 32 lower-case hex digits. */
static void pw_hmac16_hex(const uint32_t istate[8], const uint32_t ostate[8], const unsigned char *prefix,
                          size_t plen, const unsigned char *value, size_t vlen, char hex[32]) {
    static const char digits[] = "0123456789abcdef";
    unsigned char inner[32], mac[32];
    int i;
    pw_sha256_finish(istate, prefix, plen, value, vlen, inner);
    pw_sha256_finish(ostate, inner, 32, NULL, 0, mac);
    for (i = 0; i < 16; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
}

#endif
