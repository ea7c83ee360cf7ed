/**
 * Hashed page table geometry and HPTE bits (PowerPC 970, Linux 2.6.17/18
 * include/asm-powerpc/mmu.h). An HPTE is two 64-bit words; this code keeps
 * each word as two 32-bit halves (hi, lo) so no hot path needs a BigInt.
 */

/** 8 HPTEs of 16 bytes: one PTEG is 128 bytes. */
export const HPTE_BYTES = 16;
export const HPTES_PER_GROUP = 8;
export const PTEG_BYTES = HPTE_BYTES * HPTES_PER_GROUP;

/** 256 MiB segments. */
export const SID_SHIFT = 28;
export const SEGMENT_BYTES = 2 ** SID_SHIFT;

/** Page shifts: 4 KiB base pages and the PPC970's one large size, 16 MiB. */
export const SHIFT_4K = 12;
export const SHIFT_16M = 24;
export type PageShift = typeof SHIFT_4K | typeof SHIFT_16M;

/** v word (first doubleword). */
export const HPTE_V_AVPN_SHIFT = 7;
export const HPTE_V_BOLTED = 0x10;
export const HPTE_V_LOCK = 0x8;
export const HPTE_V_LARGE = 0x4;
export const HPTE_V_SECONDARY = 0x2;
export const HPTE_V_VALID = 0x1;
/** Software/reserved bits of the v word a hypervisor clears (lock, and 0x60). */
export const HPTE_V_RESERVED = 0x68;
/** The low 7 bits of the v word hold flags, the rest is the AVPN. */
export const HPTE_V_FLAGS = 0x7f;

/** r word (second doubleword). */
export const HPTE_R_RPN_SHIFT = 12;
export const HPTE_R_R = 0x100;
export const HPTE_R_C = 0x80;
export const HPTE_R_WIMG = 0x78;
export const HPTE_R_W = 0x40;
export const HPTE_R_I = 0x20;
export const HPTE_R_M = 0x10;
export const HPTE_R_G = 0x08;
export const HPTE_R_N = 0x4;
export const HPTE_R_PP = 0x3;
/** The RPN field: r bits 12..53 (HPTE_R_RPN 0x3ffffffffff000), i.e. the high half's low 22 bits. */
export const HPTE_R_RPN_HI_MASK = 0x3fffff;

/** The RPN (a frame number) of an r word given as its two 32-bit halves. */
export const rpnOf = (rHi: number, rLo: number): number => (rHi & HPTE_R_RPN_HI_MASK) * 1048576 + (rLo >>> 12);
/** PP0 (bit 63) and TS (bit 62) live in the high half; a hypervisor clears them. */
export const HPTE_R_HI_RESERVED = 0xc0000000;

/** What Linux bolts its linear map with: R | C | M (coherent), PP 0 (kernel read/write). */
export const LINEAR_R_FLAGS = 0x190;

/** 0xC000000000000000 >> 28: the first kernel segment. */
export const KERNEL_ESID = 0xc00000000;
export const KERNEL_BASE = 0xc000000000000000n;

/** The VSID scramble (Linux 2.6.17 mmu.h, 256 MiB segments). */
export const VSID_MULTIPLIER = 200730139;
export const VSID_BITS = 36;
export const VSID_MODULUS = 2 ** VSID_BITS - 1;
