import fc from 'fast-check';
import { EXTENT_PAGES, INVALID_MFN, IO_HOLE_START_MFN, PAGE_SIZE } from '../../src/machine/constants';
import { GuestMemory } from '../../src/machine/guest_memory';
import { Machine } from '../../src/machine/machine';
import { ramEnd } from '../../src/machine/memmap';
import { parseProfile } from '../../src/machine/profile';
import { HPTE_R_G, HPTE_R_I, HPTE_V_BOLTED, HPTE_V_LARGE, HPTE_V_VALID } from '../../src/hpt/constants';
import { HashTable } from '../../src/hpt/table';
import { MiB } from '../../src/util/size';
import { Domain } from '../../src/xen/domain';
import { allocateRma } from '../../src/xen/mm';
import { HptHcalls } from '../../src/xen/hcalls/hpt';
import {
  H_ANDCOND, H_AVPN, H_ENTER, H_EXACT, H_NOT_FOUND, H_PARAMETER, H_PRIVILEGE, H_PTEG_FULL, H_READ, H_READ_4, H_REMOVE, H_SUCCESS, H_ZERO_PAGE,
} from '../../src/xen/hcalls/papr';

/** A machine with dom0 (privileged), dom1 (not privileged) and dom2 (a shadow domU), each with a 256 KiB table. */
function setup() {
  const m = Machine.boot(parseProfile({ name: 't', ram: '8G' }, 'test'));
  const mk = (domid: number, privileged: boolean, shadow: boolean): Domain => {
    const rma = allocateRma(m, domid, 64 * MiB);
    const d = new Domain(domid, privileged, shadow, 16384, { mfn: rma.mfn, order: rma.order }, rma.memory);
    d.arch.hpt = { mfn: m.allocXenBlock(6, `hpt dom${domid}`, 'test'), order: 6 };
    return d;
  };
  const dom0 = mk(0, true, false);
  const dom1 = mk(1, false, false);
  const dom2 = mk(2, false, true);
  const tables = new Map([dom0, dom1, dom2].map((d) => [d.domid, new HashTable(256 * 1024)]));
  // dom2's Xen-side p2m: pfn i -> its RMA frame i.
  const hc = new HptHcalls(m, (d) => tables.get(d.domid)!, (d) => (d.domid === 2 ? (pfn: number) => (pfn < dom2.rmaPages ? dom2.rma.mfn + pfn : INVALID_MFN) : undefined));
  return { m, dom0, dom1, dom2, tables, hc };
}

const V = HPTE_V_BOLTED | HPTE_V_VALID;
/** r low word for a frame with R C M flags (and extra). */
const rlo = (mfn: number, extra = 0): number => ((mfn << 12) | 0x190 | extra) | 0;
const rhi = (mfn: number): number => Math.floor(mfn / 2 ** 20);
/** The RPN of an entry's r words: the heap hands out frames from the top of RAM, so above 4 GiB, where rHi holds the high bits. */
const rpnOf = (rHi: number, rLo: number): number => rHi * 2 ** 20 + (rLo >>> 12);
const slotRpn = (t: HashTable, slot: number): number => rpnOf(t.rHi(slot), t.rLo(slot));

describe('H_ENTER: what Xen accepts in the RPN of a non-shadow domain', () => {
  it('maps the caller\'s own frame into the first free slot of the group, then H_PTEG_FULL', () => {
    const { dom0, hc, tables } = setup();
    const mfn = dom0.rma.mfn + 5;
    for (let i = 0; i < 8; i++) {
      expect(hc.enter(dom0, 0, 16 + 3, 0x408, V | (i << 7), rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
      expect(hc.ptex).toBe(16 + i); // ptex & ~7, then the first invalid slot
    }
    expect(hc.enter(dom0, 0, 16, 0x408, V, rhi(mfn), rlo(mfn))).toBe(H_PTEG_FULL);
    expect(tables.get(0)!.r(16)).toBe(BigInt(mfn) * 4096n + 0x190n);
  });

  it('refuses a free frame, a Xen-heap frame, Xen low memory and an mfn past RAM with H_PARAMETER', () => {
    const { m, dom0, hc } = setup();
    const free = m.domHeap.free.flat()[0] ?? m.domHeap.free.find((l) => l.length)![0];
    expect(m.frames.lookup(free)).toBeUndefined();
    const xenHeapFree = m.xenHeap.free.find((l) => l.length)![0];
    const hpt = dom0.arch.hpt!.mfn; // a Xen-heap block Xen owns
    const pastRam = ramEnd(m.ram) / PAGE_SIZE + 10;
    for (const mfn of [free, xenHeapFree, hpt, 5, pastRam]) {
      expect([mfn, hc.enter(dom0, 0, 0, 1, V, rhi(mfn), rlo(mfn))]).toEqual([mfn, H_PARAMETER]);
    }
  });

  it('checks ptex with >=: the last slot is fine, ptex = table size is H_PARAMETER', () => {
    const { dom0, hc, tables } = setup();
    const slots = tables.get(0)!.slots;
    const mfn = dom0.rma.mfn;
    expect(hc.enter(dom0, H_EXACT, slots - 1, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(hc.ptex).toBe(slots - 1);
    expect(hc.enter(dom0, 0, slots, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PARAMETER);
    expect(hc.enter(dom0, 0, -1, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PARAMETER);
    expect(hc.enter(dom0, 0, 2.5, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PARAMETER);
  });

  it('IO hole: privileged callers only (H_PRIVILEGE), and only with I=1 and G=1 (H_PARAMETER)', () => {
    const { dom0, dom1, hc } = setup();
    const io = IO_HOLE_START_MFN + 0x100;
    expect(hc.enter(dom0, 0, 0, 1, V, rhi(io), rlo(io))).toBe(H_PARAMETER);
    expect(hc.enter(dom0, 0, 0, 1, V, rhi(io), rlo(io, HPTE_R_I))).toBe(H_PARAMETER);
    expect(hc.enter(dom0, 0, 0, 1, V, rhi(io), rlo(io, HPTE_R_G))).toBe(H_PARAMETER);
    expect(hc.enter(dom0, 0, 0, 1, V, rhi(io), rlo(io, HPTE_R_I | HPTE_R_G))).toBe(H_SUCCESS);
    expect(hc.enter(dom1, 0, 0, 1, V, rhi(io), rlo(io, HPTE_R_I | HPTE_R_G))).toBe(H_PRIVILEGE);
  });

  it('another domain\'s frame: a foreign mapping for a privileged caller, holding a page reference until H_REMOVE', () => {
    const { m, dom0, dom1, hc } = setup();
    const mfn = dom1.rma.mfn + 7;
    expect(hc.enter(dom0, 0, 40, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    const a = hc.ptex;
    expect(m.pageRefs.get(mfn)).toBe(1);
    expect(hc.enter(dom0, 0, 40, 2, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    const b = hc.ptex;
    expect(m.pageRefs.get(mfn)).toBe(2);
    expect(hc.remove(dom0, 0, a, 0, 0)).toBe(H_SUCCESS);
    expect(m.pageRefs.get(mfn)).toBe(1);
    expect(hc.remove(dom0, 0, b, 0, 0)).toBe(H_SUCCESS);
    expect(m.pageRefs.has(mfn)).toBe(false);
    // Not privileged: no foreign mappings; own frames mapped without references.
    expect(hc.enter(dom1, 0, 0, 1, V, rhi(dom0.rma.mfn), rlo(dom0.rma.mfn))).toBe(H_PRIVILEGE);
    expect(hc.enter(dom1, 0, 0, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(m.pageRefs.size).toBe(0);
  });

  it('16 MiB pages: an aligned run of the caller\'s frames; the large encoding checked as xlate.c:164-179 does', () => {
    const { dom0, hc, tables } = setup();
    const mfn = dom0.rma.mfn + EXTENT_PAGES; // the RMA is 64 MiB aligned: its second extent
    const L = V | HPTE_V_LARGE;
    expect(hc.enter(dom0, 0, 0, 1, L, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(slotRpn(tables.get(0)!, hc.ptex)).toBe(mfn);
    expect(hc.enter(dom0, 0, 0, 1, L, rhi(mfn), rlo(mfn) | 0x1000)).toBe(H_PARAMETER); // large page encoding bits
    // Xen does not look at the AVPN's in-page bit (QEMU does): accepted.
    expect(hc.enter(dom0, 0, 0, 1, L | 0x80, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    const straddle = dom0.rma.mfn + 3 * EXTENT_PAGES + EXTENT_PAGES; // past the RMA's end: not all dom0's
    expect(hc.enter(dom0, 0, 0, 1, L, rhi(straddle), rlo(straddle))).toBe(H_PARAMETER);
  });

  it('never trusts a stale view of who owns what: a frame freed or given away after a mapping is checked again', () => {
    const { m, dom0, dom1, dom2, hc } = setup();
    const mfn = dom0.rma.mfn + 100;
    expect(hc.enter(dom0, 0, 0, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    // Callers alternate: each one's frames are its own.
    expect(hc.enter(dom1, 0, 8, 1, V, rhi(dom1.rma.mfn), rlo(dom1.rma.mfn))).toBe(H_SUCCESS);
    expect(hc.enter(dom0, 0, 16, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    // dom0's RMA goes back to the heap: the same frame is now free.
    m.freeDomainBlock(dom0.rma.mfn, dom0.rma.order);
    expect(hc.enter(dom0, 0, 24, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PARAMETER);
    // ... and then belongs to dom1: a foreign frame for dom0, its own for dom1. The freed
    // RMA went on the tail of its list (page_alloc.c:456 @ a046da3892; its buddy is dom1's
    // RMA, so no merge): first comes the head, the lower half left when dom2's RMA was
    // split off the top of an order-15 block, then dom0's old RMA.
    const first = m.allocDomainBlock(dom0.rma.order, 1, 'test', 'test');
    expect(first).toBe(dom2.rma.mfn - 2 ** dom0.rma.order);
    const again = m.allocDomainBlock(dom0.rma.order, 1, 'test', 'test');
    expect(again).toBe(dom0.rma.mfn);
    expect(hc.enter(dom1, 0, 32, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(m.pageRefs.size).toBe(0);
    expect(hc.enter(dom0, 0, 40, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(m.pageRefs.get(mfn)).toBe(1);
  });

  it('an entry without the valid bit is refused (it could never be removed)', () => {
    const { dom0, hc } = setup();
    expect(hc.enter(dom0, 0, 0, 1, HPTE_V_BOLTED, rhi(dom0.rma.mfn), rlo(dom0.rma.mfn))).toBe(H_PARAMETER);
  });

  it('H_EXACT takes that slot or H_PTEG_FULL; H_ZERO_PAGE clears the frame in the RMA (flags above bit 31 combine with +, not |)', () => {
    const { dom0, hc } = setup();
    const mfn = dom0.rma.mfn + 2;
    dom0.memory.write(2 * PAGE_SIZE, new Uint8Array(16).fill(0xaa));
    expect(hc.enter(dom0, H_EXACT + H_ZERO_PAGE, 13, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(hc.ptex).toBe(13);
    expect([...dom0.memory.read(2 * PAGE_SIZE, 16)]).toEqual(new Array(16).fill(0));
    expect(hc.enter(dom0, H_EXACT, 13, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PTEG_FULL);
  });

  it('a shadow domain passes pfns: Xen translates them through its own p2m', () => {
    const { dom2, hc, tables } = setup();
    expect(hc.enter(dom2, 0, 0, 1, V, 0, rlo(3))).toBe(H_SUCCESS);
    expect(slotRpn(tables.get(2)!, hc.ptex)).toBe(dom2.rma.mfn + 3);
    expect(hc.enter(dom2, 0, 0, 1, V, 0, rlo(dom2.rmaPages + 1))).toBe(H_PARAMETER); // no frame for that pfn
  });
});

describe('H_REMOVE and H_READ', () => {
  it('an empty slot is H_SUCCESS, as Xen (xlate.c:538-558); a valid one is removed and its words returned', () => {
    const { dom0, hc, tables } = setup();
    expect(hc.remove(dom0, 0, 100, 0, 0)).toBe(H_SUCCESS);
    const mfn = dom0.rma.mfn + 9;
    expect(hc.enter(dom0, 0, 96, 0x408, V | (3 << 7), rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    const slot = hc.ptex;
    expect(hc.remove(dom0, H_AVPN, slot, 0x408, 4 << 7)).toBe(H_NOT_FOUND); // AVPN differs
    expect(hc.remove(dom0, H_ANDCOND, slot, 0, HPTE_V_BOLTED)).toBe(H_NOT_FOUND); // Linux: do not remove bolted
    expect(hc.remove(dom0, H_AVPN, slot, 0x408, 3 << 7)).toBe(H_SUCCESS);
    expect([hc.vHi, hc.vLo, rpnOf(hc.rHi, hc.rLo)]).toEqual([0x408, V | (3 << 7), mfn]);
    expect(tables.get(0)!.isValid(slot)).toBe(false);
    expect(hc.remove(dom0, 0, slot, 0, 0)).toBe(H_SUCCESS); // removed twice: Xen does not object
    expect(hc.remove(dom0, 0, tables.get(0)!.slots, 0, 0)).toBe(H_PARAMETER);
  });

  it('the BigInt form: H_ENTER, H_READ (one or four), H_REMOVE', () => {
    const { dom0, hc } = setup();
    const mfn = BigInt(dom0.rma.mfn + 1);
    const v = (0x408f92c94n << 12n) | BigInt(V);
    const r = (mfn << 12n) | 0x190n;
    const e = hc.call(dom0, H_ENTER, [0n, 24n, v, r]);
    expect(e).toEqual({ ret: H_SUCCESS, out: [24n] });
    expect(hc.call(dom0, H_READ, [0n, 24n])).toEqual({ ret: H_SUCCESS, out: [v, r] });
    const four = hc.call(dom0, H_READ, [BigInt(H_READ_4), 26n]);
    expect(four.out).toEqual([v, r, 0n, 0n, 0n, 0n, 0n, 0n]);
    expect(hc.call(dom0, H_REMOVE, [BigInt(H_AVPN), 24n, v & ~0x7fn])).toEqual({ ret: H_SUCCESS, out: [v, r] });
    expect(hc.call(dom0, H_REMOVE, [0n, 24n, 0n])).toEqual({ ret: H_SUCCESS, out: [0n, 0n] }); // already gone: Xen says H_SUCCESS
  });
});

describe('H_ENTER\'s per-extent ownership map: exactly as strict as the full checks', () => {
  it('a frame freed, or given to another domain, after the map was built is checked again', () => {
    const { m, dom0, dom1, hc } = setup();
    const mfn = dom1.rma.mfn + 100;
    // dom1 (not privileged) maps its own frame twice: the map is built, the second call takes the fast path.
    expect(hc.enter(dom1, 0, 0, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(m.frames.extentOwnersIfCurrent[Math.floor(mfn / EXTENT_PAGES)]).toBe(1);
    expect(hc.enter(dom1, 0, 8, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    // Freed: no longer dom1's.
    m.freeDomainBlock(dom1.rma.mfn, dom1.rma.order);
    expect(hc.enter(dom1, 0, 16, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PARAMETER);
    // Given to dom0: another domain's frame, which dom1 may not map; dom0 now maps it as its own, without a reference.
    m.frames.assign(dom1.rma.mfn, 2 ** dom1.rma.order, 0, 'test');
    expect(hc.enter(dom1, 0, 24, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PRIVILEGE);
    expect(hc.enter(dom0, 0, 32, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(hc.enter(dom0, 0, 40, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(m.pageRefs.size).toBe(0);
    // Back to dom1 (a transfer): for dom0 a foreign frame again, each mapping holding a reference.
    m.frames.release(dom1.rma.mfn, 2 ** dom1.rma.order);
    m.frames.assign(dom1.rma.mfn, 2 ** dom1.rma.order, 1, 'test');
    expect(hc.enter(dom0, 0, 48, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
    expect(m.pageRefs.get(mfn)).toBe(1);
    expect(hc.enter(dom1, 0, 56, 1, V, rhi(mfn), rlo(mfn))).toBe(H_SUCCESS);
  });

  it('an RPN past 2^32 frames is not read as the frame 2^32 below it', () => {
    const { dom0, hc } = setup();
    for (const high of [2 ** 32, 2 ** 40, 2 ** 41]) {
      const mfn = dom0.rma.mfn + 3 + high; // its low 32 bits name one of dom0's frames
      expect(hc.enter(dom0, 0, 0, 1, V, rhi(mfn), rlo(mfn))).toBe(H_PARAMETER);
    }
  });

  it('random changes of ownership between inserts: every answer is what the frame table says now', () => {
    const X = EXTENT_PAGES;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('own' as const), block: fc.nat({ max: 3 }), size: fc.constantFrom(1, X / 2, X, X), owner: fc.constantFrom<0 | 1 | 'xen'>(0, 1, 'xen') }),
            fc.record({ op: fc.constant('free' as const), block: fc.nat({ max: 3 }) }),
            // Inserts twice as likely as changes, near the start of a block as often as anywhere in it.
            fc.record({ op: fc.constant('enter' as const), caller: fc.constantFrom(0, 1), block: fc.nat({ max: 3 }), frame: fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: X - 1 })) }),
            fc.record({ op: fc.constant('enter' as const), caller: fc.constantFrom(0, 1), block: fc.nat({ max: 3 }), frame: fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: X - 1 })) }),
          ),
          { minLength: 1, maxLength: 80 },
        ),
        (ops) => {
          const { m, dom0, dom1, hc } = setup();
          const doms = [dom0, dom1];
          // Four extents of the domain heap, kept from the heap and handed out here by the frame table alone.
          const base = m.allocDomainBlock(14, 0, 'test', 'test');
          m.frames.release(base, 4 * X);
          const given: (number | undefined)[] = new Array(4).fill(undefined);
          let ptex = 0;
          for (const o of ops) {
            if (o.op === 'own') {
              if (given[o.block] !== undefined) continue;
              m.frames.assign(base + o.block * X, o.size, o.owner, o.owner === 'xen' ? 'test xen' : 'test');
              given[o.block] = o.size;
            } else if (o.op === 'free') {
              if (given[o.block] === undefined) continue;
              m.frames.release(base + o.block * X, given[o.block]!);
              given[o.block] = undefined;
            } else {
              const d = doms[o.caller];
              const mfn = base + o.block * X + o.frame;
              const run = m.frames.lookup(mfn);
              const expected = run === undefined || run.owner === 'xen' ? H_PARAMETER : run.owner === d.domid || d.privileged ? H_SUCCESS : H_PRIVILEGE;
              const refs = m.pageRefs.get(mfn) ?? 0;
              ptex = (ptex + 8) % 2048;
              expect([o, hc.enter(d, 0, ptex, 1, V, rhi(mfn), rlo(mfn))]).toEqual([o, expected]);
              // A foreign frame holds a reference per mapping, one's own none.
              expect(m.pageRefs.get(mfn) ?? 0).toBe(refs + (expected === H_SUCCESS && run!.owner !== d.domid ? 1 : 0));
            }
          }
        },
      ),
      { seed: 7, numRuns: 300 },
    );
  });
});
