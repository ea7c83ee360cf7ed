/**
 * Flattened device tree (FDT) wire format constants, as in libfdt's fdt.h and
 * the Devicetree Specification, chapter 5. All fields are big-endian.
 */

export const FDT_MAGIC = 0xd00dfeed;

/** Header sizes: version 17 added size_dt_struct (the last u32). */
export const FDT_HEADER_SIZE = 40;
export const FDT_V16_HEADER_SIZE = 36;

/** Byte offsets of the header fields. */
export const FDT_HDR = {
  magic: 0x00,
  totalSize: 0x04,
  offDtStruct: 0x08,
  offDtStrings: 0x0c,
  offMemRsvmap: 0x10,
  version: 0x14,
  lastCompVersion: 0x18,
  bootCpuidPhys: 0x1c,
  sizeDtStrings: 0x20,
  sizeDtStruct: 0x24,
} as const;

/** Structure block tokens. */
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;

/** We write version 17 (compatible back to 16) and read 16 and 17. */
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
export const FDT_FIRST_SUPPORTED_VERSION = 16;
export const FDT_LAST_SUPPORTED_VERSION = 17;

/** Tokens and property values are padded to 4 bytes; reservation entries are 8-aligned. */
export const FDT_TAGSIZE = 4;
export const FDT_RSV_ENTRY_SIZE = 16;

/** Round up to a multiple of 4 / 8 (arithmetic, so offsets past 2^31 stay exact). */
export function align4(n: number): number {
  return n + ((4 - (n % 4)) % 4);
}

export function align8(n: number): number {
  return n + ((8 - (n % 8)) % 8);
}
