#ifndef SLUICE_CRC32C_H
#define SLUICE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, initial value and final xor
/// 0xFFFFFFFF), as used by Kafka's record batch v2 and iSCSI.
///
/// Pass 0 as `crc` to start; pass a previous result to continue, so that
/// `sluice_crc32c(sluice_crc32c(0, a, na), b, nb) == crc32c(a ++ b)`.
/// `sluice_crc32c(0, "123456789", 9) == 0xE3069283`.
///
/// Uses the CPU's CRC32 instruction when present (SSE 4.2 on x86_64, chosen at run time;
/// the ARMv8 CRC extension on aarch64 when compiled for it), else a slicing-by-8 table.
/// Thread-safe; `data` may be NULL only when `length` is 0.
uint32_t sluice_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable table-driven implementation of `sluice_crc32c`, with the same contract.
/// Exposed so that tests can check the hardware path against it.
uint32_t sluice_crc32c_portable(uint32_t crc, const void *data, size_t length);

#ifdef __cplusplus
}
#endif

#endif
