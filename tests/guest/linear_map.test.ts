import { readGuestDevtree } from '../../src/guest/devtree';
import { boltLinearMap, type LinearMapResult } from '../../src/guest/linear_map';
import { GuestMmu } from '../../src/guest/mmu';
import { HPTE_V_BOLTED, HPTE_V_VALID, KERNEL_ESID, SHIFT_4K } from '../../src/hpt/constants';
import { avpnWords, hpteHash, primaryGroup } from '../../src/hpt/hash';
import { linearParts, vsidOf } from '../../src/hpt/vsid';
import { PAGE_SIZE } from '../../src/machine/constants';
import { P2mTable } from '../../src/p2m/table';
import { GiB, MiB } from '../../src/util/size';
import { xenHcalls } from '../../src/xen/hcalls/xen';
import type { System } from '../../src/xen/system';
import { buildDom0 } from './helpers';

/** dom0's MMU as its kernel sets it up, with the device tree's ibm,pft-size or another. */
function guestMmu(sys: System, pftSizeLog2?: number): GuestMmu {
  const d = sys.dom0();
  const facts = readGuestDevtree(d);
  return new GuestMmu(d, xenHcalls(sys), new P2mTable(d.memory, facts.p2m.paddr, facts.p2m.entries), pftSizeLog2 ?? facts.pftSizeLog2);
}

/**
 * What Linux's own loop does: every page in pfn order, its group and AVPN
 * from the general hash functions, one hpte_insert each, stopping at the
 * first failure. The yardstick for the order boltLinearMap puts them in.
 */
function boltInPfnOrder(mmu: GuestMmu, memory: { start: number; size: number }[], text: { start: number; end: number }): { hidx: Uint8Array; failed?: number } {
  const hidx = new Uint8Array(Math.max(...memory.map((m) => (m.start + m.size) / PAGE_SIZE)));
  for (const m of memory) {
    for (let pfn = Math.ceil(m.start / PAGE_SIZE); pfn < Math.floor((m.start + m.size) / PAGE_SIZE); pfn++) {
      const { esid, offset } = linearParts(pfn * PAGE_SIZE);
      const vsid = vsidOf(esid);
      const avpn = avpnWords(vsid, offset, SHIFT_4K);
      const group = primaryGroup(hpteHash(vsid, offset, SHIFT_4K), mmu.mask);
      const paddr = pfn * PAGE_SIZE;
      const ret = mmu.hpteInsert(group * 8, avpn.hi, (avpn.lo | HPTE_V_BOLTED | HPTE_V_VALID) >>> 0, pfn, paddr >= text.start && paddr < text.end ? 0x190 : 0x194);
      if (ret < 0) return { hidx, failed: pfn };
      hidx[pfn] = 0x80 | ret;
    }
  }
  return { hidx };
}

/** Every valid entry of dom0's table, slot and words, as bytes (to compare a quarter million at once). */
function entries(sys: System): Buffer {
  const out: number[] = [];
  sys.dom0().hpt.forEachValid((slot, vHi, vLo, rHi, rLo) => out.push(slot, vHi, vLo, rHi, rLo));
  return Buffer.from(new Uint32Array(out).buffer);
}

interface Case { what: string; mem: number; pft?: number; memory?: (mem: number) => { start: number; size: number }[]; text?: { start: number; end: number }; forge?: (sys: System) => void }

/** The same dom0 bolted both ways: boltLinearMap's order, and pfn order. */
function both(c: Case) {
  const text = c.text ?? { start: 0, end: 6 * MiB };
  const run = (mine: boolean) => {
    const sys = buildDom0(c.mem);
    c.forge?.(sys);
    const mmu = guestMmu(sys, c.pft);
    const memory = c.memory?.(c.mem) ?? readGuestDevtree(sys.dom0()).memory;
    let res: LinearMapResult | undefined;
    let error: string | undefined;
    let hidx: Uint8Array;
    if (mine) {
      try {
        res = boltLinearMap(mmu, memory, { pageShift: 12, fallback: false, text });
      } catch (e) {
        error = (e as Error).message;
      }
      hidx = res?.hidx ?? new Uint8Array(0);
    } else {
      const ref = boltInPfnOrder(mmu, memory, text);
      hidx = ref.hidx;
      error = ref.failed === undefined ? undefined : `pfn 0x${ref.failed.toString(16)}`; // the pfn the message must name
    }
    return { sys, mmu, res, error, hidx };
  };
  return { mine: run(true), ref: run(false) };
}

describe('the 4 KiB linear map goes in region by region: the table pfn order would make', () => {
  const cases: Case[] = [
    { what: "1 GiB, the device tree's table (a window of groups per segment)", mem: 1 * GiB },
    { what: 'a guest table of 4 MiB: each group filled exactly', mem: 1 * GiB, pft: 22 },
    { what: 'a guest table of 1 MiB: every segment over the whole table', mem: 256 * MiB, pft: 20 },
    {
      what: 'ranges starting and ending inside segments and chunks, text across chunks',
      mem: 1 * GiB,
      memory: () => [{ start: 5 * PAGE_SIZE, size: 70000 * PAGE_SIZE }, { start: 200000 * PAGE_SIZE, size: 33333 * PAGE_SIZE }],
      text: { start: 1000 * PAGE_SIZE, end: 66000 * PAGE_SIZE },
    },
  ];
  it.each(cases)('$what', (c) => {
    const { mine, ref } = both(c);
    expect(mine.error).toBeUndefined();
    expect(ref.error).toBeUndefined();
    const table = entries(mine.sys);
    expect(table.length).toBe(20 * mine.res!.inserts);
    expect(table.equals(entries(ref.sys))).toBe(true);
    expect(Buffer.from(mine.hidx).equals(Buffer.from(ref.hidx))).toBe(true);
    expect(mine.res!.inserts).toBe(c.memory ? 103333 : c.mem / PAGE_SIZE);
  });

  const failing: Case[] = [
    { what: 'a guest table of 256 KiB: a group overflows', mem: 256 * MiB, pft: 18 },
    { what: 'an ibm,pft-size below 64 KiB: pfn order, and a group overflows', mem: 256 * MiB, pft: 15 },
    { what: 'an ibm,pft-size past the table: H_ENTER refuses the slot', mem: 256 * MiB, pft: 40 },
    {
      what: "p2m entries naming frames that are not dom0's, a later one met first in region order",
      mem: 1 * GiB,
      forge: (sys) => {
        const d = sys.dom0();
        const free = sys.machine.domHeap.free.find((l) => l.length)![0];
        // In segment 1, chunk 100 comes before chunk 120 in pfn order; whichever region each is in.
        for (const pfn of [65536 + 120 * 512 + 7, 65536 + 100 * 512 + 3, 3 * 65536 + 9]) d.p2m().set(pfn, free);
      },
    },
    { what: 'a p2m entry with no frame (INVALID_MFN)', mem: 1 * GiB, forge: (sys) => sys.dom0().p2m().set(70000, 0xffffffff) },
  ];
  it.each(failing)('stops at the first pfn that fails in pfn order: $what', (c) => {
    const { mine, ref } = both(c);
    expect(ref.error).toBeDefined();
    expect(mine.error).toMatch(new RegExp(`^dom0 kernel: cannot bolt ea .*\\b${ref.error}[^0-9a-f]`));
    // The same hcall answer is kept for the message as Linux's loop would leave.
    expect(mine.mmu.lastHcall).toBe(ref.mmu.lastHcall);
  });
});
