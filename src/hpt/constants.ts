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
/**
 * The v word bits Xen clears in H_ENTER: its `lock` (bit 57, 0x40) and `res`
 * (bit 58, 0x20) (union pte, xen/include/asm-powerpc/htab.h:79-80 @
 * 1aa3c54a31^; cleared at papr/xlate.c:223-225). Linux's HPTE_V_LOCK (0x8)
 * is Xen's `sw` bit (htab.h:82), which Xen leaves alone.
 */
export const HPTE_V_RESERVED = 0x60;
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
/** PP0 (bit 63) and TS (bit 62) live in the high half; Xen clears them (htab.h:88-90, xlate.c:227-229). */
export const HPTE_R_HI_RESERVED = 0xc0000000;
/** res2, r bits 10..11 (htab.h:92): Xen clears them too (xlate.c:230). */
export const HPTE_R_LO_RESERVED = 0xc00;

/**
 * What Linux 2.6.18 bolts its linear map with: mode_rw = _PAGE_ACCESSED |
 * _PAGE_DIRTY | _PAGE_COHERENT | PP_RWXX, i.e. R | C | M, PP 0
 * (arch/powerpc/mm/hash_utils_64.c:485 @ el5-274), plus HPTE_R_N for every
 * page outside kernel text, `if (!in_kernel_text(vaddr))` (:164-166);
 * in_kernel_text is [_stext, __init_end) (include/asm-powerpc/sections.h:11-17).
 */
export const LINEAR_R_FLAGS = 0x190;
export const LINEAR_R_FLAGS_NOEXEC = 0x194;
/** The r word bits those flags live in: R, C, WIMG, N, PP. */
export const HPTE_R_FLAGS_MASK = 0x1ff;

/**
 * htab_bolt_mapping's r flags for the page at guest-physical `paddr`: mode_rw,
 * with HPTE_R_N when `!in_kernel_text(vaddr)` of the page's first byte
 * (arch/powerpc/mm/hash_utils_64.c:164-166 @ el5-274). Here so the guest's
 * bolting and the table check share one rule.
 */
export function linearRFlags(text: { start: number; end: number }, paddr: number): number {
  return paddr >= text.start && paddr < text.end ? LINEAR_R_FLAGS : LINEAR_R_FLAGS_NOEXEC;
}

/** 0xC000000000000000 >> 28: the first kernel segment. */
export const KERNEL_ESID = 0xc00000000;
export const KERNEL_BASE = 0xc000000000000000n;

/** The VSID scramble (Linux 2.6.17 mmu.h, 256 MiB segments). */
export const VSID_MULTIPLIER = 200730139;
export const VSID_BITS = 36;
export const VSID_MODULUS = 2 ** VSID_BITS - 1;
