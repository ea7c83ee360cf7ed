import { dom0HptBytes, dom0PagesForHpt, domuHptBytes, hptBytesForMiB, MIN_HPT_BYTES } from '../../src/hpt/size';
import { PAGE_SIZE } from '../../src/machine/constants';
import { GiB, KiB, MiB } from '../../src/util/size';

const pages = (bytes: number): number => bytes / PAGE_SIZE;

/*
 * Worked by hand from xen/arch/powerpc/domain_build.c:139-148 and shadow.c:77-112
 * @ 1aa3c54a31^: MiB = (tot_pages >> 6) >> 8 (truncated), 0 -> 1, pages = MiB << 8,
 * order = fls(pages) - 1, + 1 unless pages is a power of two.
 */
describe('dom0 hash table (construct_dom0 + shadow_set_allocation)', () => {
  it('a 4112 MiB dom0 gets 64 MiB (the old 1/64-rounded-up rule gave 128 MiB)', () => {
    // 4112 MiB = 1052672 pages; >> 6 = 16448; >> 8 = 64 MiB (64.25 truncated); 16384 pages, order 14.
    expect(dom0HptBytes(pages(4112 * MiB))).toBe(64 * MiB);
  });

  it('truncates to whole MiB, then rounds the pages up to a power of two', () => {
    // 192 MiB: 49152 >> 6 = 768 >> 8 = 3 MiB = 768 pages; fls(768) - 1 = 9, 768 & 511 != 0 -> order 10.
    expect(dom0HptBytes(pages(192 * MiB))).toBe(4 * MiB);
    // 1 GiB: 262144 >> 14 = 16 MiB, a power of two already.
    expect(dom0HptBytes(pages(1 * GiB))).toBe(16 * MiB);
    expect(dom0HptBytes(pages(4 * GiB))).toBe(64 * MiB);
    // 4160 MiB: 1064960 >> 14 = 65 MiB -> 16640 pages -> order 15.
    expect(dom0HptBytes(pages(4160 * MiB))).toBe(128 * MiB);
    // 32 GiB - 16 MiB: 8384512 >> 14 = 511 MiB -> order 17.
    expect(dom0HptBytes(pages(32 * GiB - 16 * MiB))).toBe(512 * MiB);
  });

  it('0 MiB (a dom0 under 64 MiB) means 1 MiB, as shadow.c:90-96 says for old tools', () => {
    // 16 MiB: 4096 >> 6 = 64 >> 8 = 0 -> 1 MiB = 256 pages, order 8.
    expect(dom0HptBytes(pages(16 * MiB))).toBe(1 * MiB);
    expect(dom0HptBytes(pages(64 * MiB) - 1)).toBe(1 * MiB);
    expect(dom0HptBytes(pages(64 * MiB))).toBe(1 * MiB);
    expect(hptBytesForMiB(0)).toBe(1 * MiB);
  });

  it('opt_dom0_shadow overrides the MiB figure; 0 is "not set"', () => {
    expect(dom0HptBytes(pages(4 * GiB), 1)).toBe(1 * MiB);
    expect(dom0HptBytes(pages(4 * GiB), 5)).toBe(8 * MiB);
    expect(dom0HptBytes(pages(4 * GiB), 0)).toBe(64 * MiB);
  });

  it('htab_alloc never gets below its architectural minimum from shadow_set_allocation', () => {
    expect(MIN_HPT_BYTES).toBe(256 * KiB);
    expect(hptBytesForMiB(1)).toBeGreaterThan(MIN_HPT_BYTES);
    expect(() => hptBytesForMiB(1.5)).toThrow(/whole number of MiB/);
  });

  it('dom0PagesForHpt: the largest dom0 whose table fits a block', () => {
    // A 64 MiB block holds tables of up to 64 MiB: tot_pages >> 14 <= 64, i.e. below 65 << 14.
    expect(dom0PagesForHpt(64 * MiB)).toBe(65 * 16384 - 1);
    expect(dom0HptBytes(65 * 16384 - 1)).toBe(64 * MiB);
    expect(dom0HptBytes(65 * 16384)).toBe(128 * MiB);
    expect(dom0PagesForHpt(1 * MiB)).toBe(2 * 16384 - 1);
    expect(dom0PagesForHpt(512 * KiB)).toBe(0);
  });
});

/*
 * xend: PPC_LinuxImageHandler.getRequiredShadowMemory = max(maxmem_kb / 64, shadow_mem_kb)
 * (tools/python/xen/xend/image.py:513-519 @ 1aa3c54a31^), rounded up to whole MiB
 * (XendDomainInfo.py:2147-2149), then shadow_set_allocation as for dom0.
 */
describe('domU hash table (xend)', () => {
  it('1/64 of maxmem in KiB, rounded UP to whole MiB, then to a power of two of pages', () => {
    // 256 MiB: 262144 KiB / 64 = 4096 KiB = 4 MiB.
    expect(domuHptBytes(256 * MiB)).toBe(4 * MiB);
    // 4112 MiB: 4210688 / 64 = 65792 KiB -> 65 MiB (up, where dom0 truncates to 64) -> 128 MiB.
    expect(domuHptBytes(4112 * MiB)).toBe(128 * MiB);
    // 32 MiB: 512 KiB -> 1 MiB.
    expect(domuHptBytes(32 * MiB)).toBe(1 * MiB);
    // 192 MiB: 3072 KiB = 3 MiB -> 768 pages -> 4 MiB.
    expect(domuHptBytes(192 * MiB)).toBe(4 * MiB);
  });
});
