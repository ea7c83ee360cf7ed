import { PAGE_SHIFT, PAGE_SIZE } from '../machine/constants';
import { UsageError } from '../util/errors';

/*
 * Hash table sizes as Xen and xend choose them (docs/heap.md). Line numbers
 * are in the files named, at 1aa3c54a31^ (the last tree with the PowerPC port).
 */

/** htab_alloc's bounds on the order in pages (xen/arch/powerpc/shadow.c:46-49 @ 1aa3c54a31^). */
const HPT_MIN_ORDER = 6;
const HPT_MAX_ORDER = 34;
/** Smallest hash table htab_alloc hands out: 2^6 pages, 256 KiB (shadow.c:46-47). */
export const MIN_HPT_BYTES = 2 ** (HPT_MIN_ORDER + PAGE_SHIFT);
const PAGES_PER_MIB = 2 ** (20 - PAGE_SHIFT);

/**
 * shadow_set_allocation (xen/arch/powerpc/shadow.c:77-112 @ 1aa3c54a31^):
 * 0 MiB means 1 MiB (:90-96, "old management tools"); pages = MiB << 8 (:97);
 * order = fls(pages) - 1, plus one when pages is not a power of two (:98-100);
 * htab_alloc then bounds the order to 6..34 (:46-49). Returns bytes.
 */
export function hptBytesForMiB(megabytes: number): number {
  if (!Number.isSafeInteger(megabytes) || megabytes < 0) throw new UsageError(`a hash table of ${megabytes} MiB is not a whole number of MiB`);
  const mb = megabytes === 0 ? 1 : megabytes;
  const pages = mb * PAGES_PER_MIB;
  let order = Math.floor(Math.log2(pages));
  if (pages % 2 ** order !== 0) order++;
  order = Math.min(Math.max(order, HPT_MIN_ORDER), HPT_MAX_ORDER);
  return 2 ** order * PAGE_SIZE;
}

/**
 * dom0's table (xen/arch/powerpc/domain_build.c:139-148 @ 1aa3c54a31^):
 * opt_dom0_shadow MiB when set, else (tot_pages >> 6) >> (20 - PAGE_SHIFT)
 * whole MiB, truncated (:141). tot_pages there is all of dom0, the RMA and
 * every extent (allocate_extents runs first, :133-137). Xen parses
 * dom0_shadow as a boolean_param (:53-54), so from its command line the
 * override can only be 1 MiB; 0 means "not set".
 */
export function dom0HptBytes(totPages: number, overrideMiB?: number): number {
  const mb = overrideMiB ? overrideMiB : Math.floor(Math.floor(totPages / 64) / PAGES_PER_MIB);
  return hptBytesForMiB(mb);
}

/** The most dom0 pages whose table (dom0HptBytes, no override) fits in `bytes`; 0 when none does. */
export function dom0PagesForHpt(bytes: number): number {
  // A table of m MiB takes m * 256 pages rounded up to a power of two: that fits
  // when m * 256 is at most the largest power of two of pages within `bytes`.
  const pages = Math.floor(bytes / PAGE_SIZE);
  if (pages < 1) return 0;
  const mb = Math.floor(2 ** Math.floor(Math.log2(pages)) / PAGES_PER_MIB);
  if (mb < 1) return 0;
  // (tot_pages >> 6) >> 8 stays at most mb while tot_pages < (mb + 1) << 14.
  return (mb + 1) * 64 * PAGES_PER_MIB - 1;
}

/**
 * A domU's table as xend asks for it: PPC_LinuxImageHandler.getRequiredShadowMemory
 * returns max(maxmem_kb / 64, shadow_mem_kb) KiB (tools/python/xen/xend/image.py:513-519
 * @ 1aa3c54a31^), with maxmem_kb = memory_static_max / 1024 and no shadow_memory
 * configured (XendDomainInfo.py:2142-2144); it is rounded up to whole MiB (:2147-2149)
 * and passed to shadow_mem_control in MiB (:2162), which reaches
 * shadow_set_allocation (shadow.c:134-138). Python 2 integer division throughout.
 */
export function domuHptBytes(maxMemBytes: number): number {
  const maxmemKb = Math.floor(maxMemBytes / 1024);
  const shadowKb = Math.floor(maxmemKb / 64);
  return hptBytesForMiB(Math.ceil(shadowKb / 1024));
}
