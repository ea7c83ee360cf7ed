import { HPTE_V_BOLTED, HPTE_V_LARGE, HPTE_V_VALID, KERNEL_BASE, KERNEL_ESID, SHIFT_16M, SHIFT_4K } from '../../src/hpt/constants';
import { avpnWords, hpteHash, primaryGroup, secondaryGroup, walkEa } from '../../src/hpt/hash';
import { HpteDecoder } from '../../src/hpt/decode';
import { HashTable } from '../../src/hpt/table';
import { esidOfVsid, linearParts, splitEa, vsidOf } from '../../src/hpt/vsid';
import { GiB, KiB, MiB } from '../../src/util/size';

const M = (1n << 36n) - 1n;
const refVsid = (esid: bigint): bigint => (esid * 200730139n) % M;

describe('VSID and hash (docs/hash-table.md)', () => {
  it("reproduces the worked example: 1 MiB table, ea 0xC000000000000000, 4 KiB page", () => {
    const w = walkEa(0xc000000000000000n, SHIFT_4K, (1 * MiB) / 128);
    expect(w.esid).toBe(0xc00000000);
    expect(w.vsid).toBe(0x408f92c94);
    expect(w.mask).toBe(0x1fff);
    expect(w.hash).toBe(0x408f92c94);
    expect(w.primary).toBe(0xc94);
    expect(w.secondary).toBe(0x136b);
    expect(w.va).toBe(0x408f92c940000000n);
  });

  it('VSID = ESID x 200730139 mod (2^36 - 1), exactly, where the product passes 2^53', () => {
    for (const esid of [0, 1, 0xc00000000, 0xc00000001, 0xc0000007f, 0xfffffffff, 0x123456789, 2 ** 36 - 2]) {
      expect(vsidOf(esid)).toBe(Number(refVsid(BigInt(esid))));
      expect(esidOfVsid(vsidOf(esid))).toBe(esid % (2 ** 36 - 1));
    }
    // Not the older multiplier.
    expect(vsidOf(0xc00000000)).not.toBe(Number((0xc00000000n * 268435399n) % M));
  });

  it('hash = ((va >> 28) & 0x7FFFFFFFFF) ^ ((va & 0x0FFFFFFF) >> shift), with BigInt as the reference', () => {
    for (const ea of [0xc000000000000000n, 0xc000000012345000n, 0xc0000007fffff000n, 0xc000000010000000n, 0xd000000000001000n]) {
      for (const shift of [SHIFT_4K, SHIFT_16M] as const) {
        const { esid, offset } = splitEa(ea);
        const vsid = BigInt(vsidOf(esid));
        const va = (vsid << 28n) | BigInt(offset);
        const want = ((va >> 28n) & 0x7fffffffffn) ^ ((va & 0x0fffffffn) >> BigInt(shift));
        expect(BigInt(hpteHash(Number(vsid), offset, shift))).toBe(want);
        const mask = 0x7ffff;
        expect(primaryGroup(Number(want), mask)).toBe(Number(want & BigInt(mask)));
        expect(secondaryGroup(Number(want), mask)).toBe(Number(~want & BigInt(mask)));
        // AVPN = (va >> 23) << 7 (a 16 MiB page has its lowest AVPN bit clear).
        const a = avpnWords(Number(vsid), offset, shift);
        let avpn = (va >> 23n) << 7n;
        if (shift === SHIFT_16M) avpn &= ~(1n << 7n);
        expect((BigInt(a.hi) << 32n) | BigInt(a.lo)).toBe(avpn);
      }
    }
  });

  it('the linear map: ea = 0xC000000000000000 + paddr, split without BigInt', () => {
    const paddr = 5 * GiB + 0x123000;
    const { esid, offset } = linearParts(paddr);
    expect(esid).toBe(KERNEL_ESID + 20);
    expect(offset).toBe(0x123000 + 0x10000000 * 0);
    expect(splitEa(KERNEL_BASE + BigInt(paddr))).toEqual({ esid, offset });
  });
});

describe('HashTable', () => {
  it('is PTEGs of 8 HPTEs of 16 bytes', () => {
    const t = new HashTable(256 * KiB);
    expect(t.ptegs).toBe(2048);
    expect(t.slots).toBe(16384);
    expect(t.mask).toBe(0x7ff);
    expect(() => new HashTable(100 * KiB)).toThrow(RangeError);
  });

  it('inserts into the first invalid slot of a group, full after 8', () => {
    const t = new HashTable(256 * KiB);
    for (let i = 0; i < 8; i++) expect(t.insertInGroup(80, 1, 0x80000011 | 0, 0, 0x1190)).toBe(80 + i);
    expect(t.insertInGroup(80, 1, 1, 0, 0)).toBe(-1);
    expect(t.freeSlotInGroup(80)).toBe(-1);
    t.clear(83);
    expect(t.freeSlotInGroup(80)).toBe(83);
    expect(t.vLo(81)).toBe(0x80000011); // halves read back unsigned
    expect(t.v(81)).toBe(0x180000011n);
  });

  it('allocates storage only where it is written', () => {
    const t = new HashTable(512 * MiB);
    expect(t.allocatedBytes).toBe(0);
    for (let g = 0; g < 2048; g++) t.write(g * 16 * 8, 0, HPTE_V_VALID, 0, 0);
    const s = t.stats();
    expect(s.valid).toBe(2048);
    expect(s.histogram[1]).toBe(2048);
    expect(s.histogram[0]).toBe(t.ptegs - 2048);
    expect(t.allocatedBytes).toBeLessThan(32 * MiB);
  });

  it('decodes an HPTE back to its effective address from AVPN and position', () => {
    const t = new HashTable(64 * MiB);
    const dec = new HpteDecoder(t);
    for (const [ea, shift] of [[0xc000000000000000n, SHIFT_4K], [0xc000000012345000n, SHIFT_4K], [0xc000000f01000000n, SHIFT_16M]] as const) {
      const w = walkEa(ea, shift, t.ptegs);
      const lo = Number(w.avpn & 0xffffffffn) | HPTE_V_BOLTED | HPTE_V_VALID;
      const slot = t.insertInGroup(w.primary * 8, Number(w.avpn >> 32n), lo, 0, 0x190);
      const h = dec.decode(slot);
      expect(h.ea).toBe(ea);
      expect(h.consistent).toBe(true);
      expect(h.large).toBe(shift === SHIFT_16M);
      expect(h.vsid).toBe(w.vsid);
      void HPTE_V_LARGE;
    }
  });
});
