import { readFdt } from '../../src/devtree/fdt_ro';
import { writeFdt } from '../../src/devtree/fdt_wr';
import { enc, findNode, removeProp, setProp } from '../../src/devtree/tree';
import { bootDom0Guest } from '../../src/guest/boot';
import { parseLinearPage } from '../../src/commands/args';
import { readRmaBlob } from '../../src/guest/devtree';
import { GuestBootError } from '../../src/guest/errors';
import { hidxOf } from '../../src/guest/record';
import { HPTE_V_VALID, SHIFT_4K } from '../../src/hpt/constants';
import { HpteDecoder } from '../../src/hpt/decode';
import { walkEa } from '../../src/hpt/hash';
import { EXTENT_PAGES, PAGE_SIZE } from '../../src/machine/constants';
import { GiB, MiB } from '../../src/util/size';
import { UsageError } from '../../src/util/errors';
import type { System } from '../../src/xen/system';
import { buildDom0 } from './helpers';

/** Rewrite dom0's device tree in its RMA (what a Xen bug would leave there). */
function editTree(sys: System, edit: (t: ReturnType<typeof readFdt>) => void): void {
  const d = sys.dom0();
  const tree = readFdt(readRmaBlob(d));
  edit(tree);
  d.memory.write(d.layout!.devtree.start, writeFdt(tree));
}

/** Every valid HPTE of dom0's table, decoded. */
function hptes(sys: System) {
  const t = sys.dom0().hpt;
  const dec = new HpteDecoder(t);
  const out: ReturnType<HpteDecoder['decode']>[] = [];
  t.forEachValid((slot) => out.push(dec.decode(slot)));
  return out;
}

describe("dom0's early boot through its own p2m", () => {
  it('bolts the linear map with 16 MiB pages: each one an aligned machine run from the table, primary group, slot recorded', () => {
    const sys = buildDom0(1 * GiB);
    const d = sys.dom0();
    // 2.6.22 keeps the slot record (linear_map_hash_slots) this test reads; 2.6.18 keeps none.
    const rec = bootDom0Guest(sys, d, { linearPageShift: 24, linearFallback: false, kernelVersion: '2.6.22' });
    expect(rec.linear).toMatchObject({ pages16M: 64, pages4K: 0, inserts: 64, hidxPerPfn: false, fallbackExtents: [] });
    expect(rec.devtree.p2mPaddr).toBe(d.p2mPaddr);
    const all = hptes(sys);
    expect(all).toHaveLength(64);
    const table = d.p2m();
    const g = sys.dom0().guest!;
    for (const h of all) {
      expect(h.large && h.bolted && !h.secondary && h.consistent).toBe(true);
      const pfn = h.linearPaddr / PAGE_SIZE;
      expect(h.rpn).toBe(table.get(pfn));
      expect(h.rpn % EXTENT_PAGES).toBe(0);
      expect(h.flags).toMatchObject({ r: true, c: true, m: true, i: false, g: false, pp: 0 });
      // The first 16 MiB page holds the text [0, 4 MiB): no HPTE_R_N (hash_utils_64.c:164-166 @ el5-274).
      expect(h.flags.n).toBe(pfn !== 0);
      expect(hidxOf(g.rec, g.hidx, pfn)).toBe(0x80 | h.index);
    }
  });

  it('with 4 KiB pages every pfn gets one bolted HPTE whose RPN is the table\'s mfn', () => {
    const sys = buildDom0(256 * MiB);
    const d = sys.dom0();
    const rec = bootDom0Guest(sys, d, { linearPageShift: 12, linearFallback: false });
    expect(rec.linear).toMatchObject({ pages4K: 65536, pages16M: 0, hidxPerPfn: true });
    const seen = new Uint8Array(d.totPages);
    const table = d.p2m();
    let wrong = 0;
    for (const h of hptes(sys)) {
      const pfn = h.linearPaddr / PAGE_SIZE;
      seen[pfn]++;
      if (h.rpn !== table.get(pfn) || !h.consistent || !h.bolted || h.large) wrong++;
    }
    expect(wrong).toBe(0);
    expect(seen.every((n) => n === 1)).toBe(true);
  });

  it('refuses a 16 MiB page over an extent that is not one aligned run, naming the pfn; --linear-fallback maps it with 4 KiB pages', () => {
    const e = 5 * EXTENT_PAGES;
    /** dom0 of 512 MiB with two entries of extent 5 swapped: still its frames, no longer one run. */
    const swappedDom0 = (): System => {
      const s = buildDom0(512 * MiB);
      const t = s.dom0().p2m();
      const a = t.get(e + 0x10);
      t.set(e + 0x10, t.get(e + 0x11));
      t.set(e + 0x11, a);
      return s;
    };
    const sys = swappedDom0();
    let err: unknown;
    try {
      bootDom0Guest(sys, sys.dom0(), { linearPageShift: 24, linearFallback: false });
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(GuestBootError);
    expect((err as GuestBootError).exitCode).toBe(1);
    expect((err as Error).message).toMatch(/pfn 0x5010 maps to mfn 0x[0-9a-f]+, not 0x[0-9a-f]+/);
    expect((err as Error).message).toMatch(/with a 16 MiB page/);
    expect((err as GuestBootError).remedies).toContain('linear-fallback');

    const sys2 = swappedDom0();
    const t2 = sys2.dom0().p2m();
    const rec = bootDom0Guest(sys2, sys2.dom0(), { linearPageShift: 24, linearFallback: true });
    expect(rec.linear).toMatchObject({ pages16M: 31, pages4K: 4096, fallbackExtents: [e], hidxPerPfn: true });
    const mapped = hptes(sys2).filter((h) => !h.large).map((h) => h.linearPaddr / PAGE_SIZE);
    expect(mapped).toHaveLength(4096);
    expect(Math.min(...mapped)).toBe(e);
    expect(Math.max(...mapped)).toBe(e + 4095);
    const swapped = hptes(sys2).find((h) => h.linearPaddr === (e + 0x10) * PAGE_SIZE)!;
    expect(swapped.rpn).toBe(t2.get(e + 0x10)); // the swapped frame, as the table now says
  });

  it('checks /xen/p2m: present, inside the RMA, inside a reservation', () => {
    const missing = buildDom0(256 * MiB);
    editTree(missing, (t) => removeProp(findNode(t.root, '/xen')!, 'p2m'));
    expect(() => bootDom0Guest(missing, missing.dom0(), { linearPageShift: 24, linearFallback: false })).toThrow(/no \/xen\/p2m property/);

    const outside = buildDom0(256 * MiB);
    editTree(outside, (t) => setProp(findNode(t.root, '/xen')!, 'p2m', enc.u64(60 * MiB, 16 * MiB)));
    expect(() => bootDom0Guest(outside, outside.dom0(), { linearPageShift: 24, linearFallback: false })).toThrow(/not inside the RMA \[0x0, 0x4000000\)/);

    const unreserved = buildDom0(256 * MiB);
    const paddr = unreserved.dom0().p2mPaddr;
    editTree(unreserved, (t) => {
      t.reservations = t.reservations.filter((r) => r.address !== BigInt(paddr));
    });
    expect(() => bootDom0Guest(unreserved, unreserved.dom0(), { linearPageShift: 24, linearFallback: false })).toThrow(/not inside any memory reservation/);
  });

  it('stops with a clear error when H_ENTER finds the primary group full', () => {
    const sys = buildDom0(256 * MiB);
    const d = sys.dom0();
    const t = d.hpt;
    const w = walkEa(0xc000000000000000n, SHIFT_4K, t.ptegs);
    for (let i = 0; i < 8; i++) t.write(w.primary * 8 + i, 1, HPTE_V_VALID, 0, 0);
    expect(() => bootDom0Guest(sys, d, { linearPageShift: 12, linearFallback: false })).toThrow(/cannot bolt ea 0xc000000000000000 .*H_ENTER found primary PTEG 0x[0-9a-f]+ full/);
  });

  it('reports progress in pfns up to the total', () => {
    const sys = buildDom0(512 * MiB);
    const seen: [number, number][] = [];
    bootDom0Guest(sys, sys.dom0(), { linearPageShift: 12, linearFallback: false, progress: (done, total) => seen.push([done, total]) });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[seen.length - 1]).toEqual([131072, 131072]);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThanOrEqual(seen[i - 1][0]);
  });

  it('--linear-page takes 4K or 16M in any size spelling', () => {
    expect(parseLinearPage(undefined)).toBe(24);
    expect(parseLinearPage('4K')).toBe(12);
    expect(parseLinearPage('4096')).toBe(12);
    expect(parseLinearPage('16MiB')).toBe(24);
    expect(() => parseLinearPage('64K')).toThrow(UsageError);
    expect(() => parseLinearPage('big')).toThrow(UsageError);
  });
});
