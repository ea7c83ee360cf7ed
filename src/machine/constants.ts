/** Page and extent geometry of the simulated PPC970 machine (docs/machine.md). */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** A 16 MiB extent: order 12, 4096 pages, naturally aligned. */
export const EXTENT_ORDER = 12;
export const EXTENT_PAGES = 1 << EXTENT_ORDER;
export const EXTENT_SIZE = EXTENT_PAGES * PAGE_SIZE;
/** The buddy heaps hand out orders 0..20 (4 KiB .. 4 GiB). */
export const MAX_ORDER = 20;
/** Machine addresses [2 GiB, 4 GiB) are MMIO, never RAM. */
export const IO_HOLE_START = 2 * 1024 * 1024 * 1024;
export const IO_HOLE_END = 4 * 1024 * 1024 * 1024;
export const IO_HOLE_START_MFN = IO_HOLE_START / PAGE_SIZE;
export const IO_HOLE_END_MFN = IO_HOLE_END / PAGE_SIZE;
/** p2m entries are big-endian u32 mfns; unused ones hold INVALID_MFN. */
export const INVALID_MFN = 0xffffffff;
/** 0xC000000000000000: where Linux maps physical memory (its linear map). */
export const KERNEL_BASE = 0xc000000000000000n;
/** Xen's heap in MiB before RAM/32 is added (XENHEAP_DEFAULT_MB, xen/include/asm-powerpc/config.h:66 @ 1aa3c54a31^). */
export const XENHEAP_DEFAULT_MB = 16;
