/**
 * Hardware CRC-32C through FFI, when the system has it: Intel ISA-L's
 * `crc32_iscsi` (Debian package `libisal2`), which uses the SSE4.2 `crc32`
 * instruction and PCLMULQDQ folding (15-20 GB/s on this VM, against ~0.9 GB/s
 * for the slicing-by-16 JS in `protocol/record_batch.ts`). `ffi/deno.ts` and
 * `ffi/bun.ts` bind it; `ffi/load.ts` picks it (`loadNativeCrc32c`) and the
 * broker installs it with `useNativeCrc32c()` at start; without the library
 * the JS path stays.
 *
 * ISA-L's function takes and returns the raw register (no final inversion), so
 * the bindings invert on the way in and out: `~crc32_iscsi(buf, len, ~crc)`.
 *
 * @module
 */

/** The shared object and symbol (Debian `libisal2`). */
export const ISAL_PATH = "libisal.so.2";
/** `uint32_t crc32_iscsi(unsigned char *buffer, int len, uint32_t init_crc)`. */
export const ISAL_CRC32C_SYMBOL = "crc32_iscsi";
/** Longest buffer one call is given (`len` is an `int`). */
export const NATIVE_CRC_MAX_BYTES = 0x7fffffff;
