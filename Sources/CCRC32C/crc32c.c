// CRC-32C (Castagnoli). See include/crc32c.h for the contract.
//
// All internal functions work on the raw CRC register (no pre/post inversion); the public
// entry points invert on the way in and out, which is what makes results chainable.
//
// The hardware path on x86_64 runs three independent CRC streams over three adjacent lanes
// of a block, because the crc32 instruction has a latency of 3 cycles but a throughput of
// one per cycle. The three lane results are then merged: CRC is linear, so the register
// after lanes A|B|C starting from s is shift(shift(crc(s, A), |B|) ^ crc(0, B), |C|) ^
// crc(0, C), where shift(r, n) is the register after feeding n zero bytes to r, that is
// r * x^(8n) mod P. That multiplication is done with four 256-entry tables per lane size.

#include "crc32c.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define SLUICE_CRC32C_X86 1
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define SLUICE_CRC32C_ARM 1
#endif

/// The reflected Castagnoli polynomial.
#define POLY 0x82F63B78u

/// Lane sizes for the three-stream hardware loop, in bytes (multiples of 8).
#define LANE_LONG_BYTES 8192u
#define LANE_SHORT_BYTES 256u

/// Slicing-by-8 tables: table[0] is the classic byte table; table[k][b] is the register
/// contribution of byte b followed by k zero bytes.
static uint32_t slice_table[8][256];

#if SLUICE_CRC32C_X86
/// shift_long[k][b]: (b << 8k) * x^(8 * LANE_LONG_BYTES) mod P; likewise for short lanes.
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static int has_sse42;
#endif

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

#if SLUICE_CRC32C_X86
/// a * b mod P, both in the reflected representation where bit 31 is x^0.
static uint32_t multiply_mod_p(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (uint32_t bit = 0x80000000u; bit != 0; bit >>= 1) {
        if (a & bit) product ^= b;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1;
    }
    return product;
}

/// x^(8 * byte_count) mod P, by square and multiply.
static uint32_t x_power_of_bytes(uint64_t byte_count) {
    uint32_t result = 0x80000000u;  // x^0
    uint32_t base = 0x40000000u;    // x^1
    for (uint64_t exponent = byte_count * 8; exponent != 0; exponent >>= 1) {
        if (exponent & 1) result = multiply_mod_p(result, base);
        base = multiply_mod_p(base, base);
    }
    return result;
}

static void build_shift_table(uint32_t table[4][256], uint64_t byte_count) {
    uint32_t factor = x_power_of_bytes(byte_count);
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) {
            table[k][b] = multiply_mod_p(b << (8 * k), factor);
        }
    }
}

static inline uint32_t shift_register(const uint32_t table[4][256], uint32_t r) {
    return table[0][r & 0xff] ^ table[1][(r >> 8) & 0xff] ^ table[2][(r >> 16) & 0xff] ^ table[3][r >> 24];
}
#endif

static void build_tables(void) {
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t r = b;
        for (int i = 0; i < 8; i++) r = (r & 1) ? (r >> 1) ^ POLY : r >> 1;
        slice_table[0][b] = r;
    }
    for (uint32_t b = 0; b < 256; b++) {
        for (int k = 1; k < 8; k++) {
            uint32_t previous = slice_table[k - 1][b];
            slice_table[k][b] = (previous >> 8) ^ slice_table[0][previous & 0xff];
        }
    }
#if SLUICE_CRC32C_X86
    build_shift_table(shift_long, LANE_LONG_BYTES);
    build_shift_table(shift_short, LANE_SHORT_BYTES);
    __builtin_cpu_init();
    has_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t portable_raw(uint32_t r, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint32_t low = r ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        r = slice_table[7][low & 0xff] ^ slice_table[6][(low >> 8) & 0xff]
            ^ slice_table[5][(low >> 16) & 0xff] ^ slice_table[4][low >> 24]
            ^ slice_table[3][p[4]] ^ slice_table[2][p[5]] ^ slice_table[1][p[6]] ^ slice_table[0][p[7]];
        p += 8;
        n -= 8;
    }
    while (n--) r = (r >> 8) ^ slice_table[0][(r ^ *p++) & 0xff];
    return r;
}

#if SLUICE_CRC32C_X86
static inline uint64_t load64(const unsigned char *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

/// Three streams over lanes of `lane` bytes while at least three lanes remain.
__attribute__((target("sse4.2")))
static inline uint64_t sse42_three_lanes(uint64_t r, const unsigned char **cursor, size_t *remaining,
                                         size_t lane, const uint32_t table[4][256]) {
    const unsigned char *p = *cursor;
    size_t n = *remaining;
    while (n >= 3 * lane) {
        uint64_t r0 = r, r1 = 0, r2 = 0;
        const unsigned char *end = p + lane;
        do {
            r0 = _mm_crc32_u64(r0, load64(p));
            r1 = _mm_crc32_u64(r1, load64(p + lane));
            r2 = _mm_crc32_u64(r2, load64(p + 2 * lane));
            p += 8;
        } while (p < end);
        r = shift_register(table, (uint32_t)r0) ^ (uint32_t)r1;
        r = shift_register(table, (uint32_t)r) ^ (uint32_t)r2;
        p += 2 * lane;
        n -= 3 * lane;
    }
    *cursor = p;
    *remaining = n;
    return r;
}

__attribute__((target("sse4.2")))
static uint32_t sse42_raw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t r = crc;
    r = sse42_three_lanes(r, &p, &n, LANE_LONG_BYTES, shift_long);
    r = sse42_three_lanes(r, &p, &n, LANE_SHORT_BYTES, shift_short);
    while (n >= 8) {
        r = _mm_crc32_u64(r, load64(p));
        p += 8;
        n -= 8;
    }
    uint32_t r32 = (uint32_t)r;
    while (n--) r32 = _mm_crc32_u8(r32, *p++);
    return r32;
}
#endif

#if SLUICE_CRC32C_ARM
static uint32_t arm_raw(uint32_t r, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        r = __crc32cd(r, word);
        p += 8;
        n -= 8;
    }
    while (n--) r = __crc32cb(r, *p++);
    return r;
}
#endif

uint32_t sluice_crc32c(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
#if SLUICE_CRC32C_ARM
    return ~arm_raw(~crc, (const unsigned char *)data, length);
#else
    pthread_once(&tables_once, build_tables);
#if SLUICE_CRC32C_X86
    if (has_sse42) return ~sse42_raw(~crc, (const unsigned char *)data, length);
#endif
    return ~portable_raw(~crc, (const unsigned char *)data, length);
#endif
}

uint32_t sluice_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    if (length == 0) return crc;
    pthread_once(&tables_once, build_tables);
    return ~portable_raw(~crc, (const unsigned char *)data, length);
}
