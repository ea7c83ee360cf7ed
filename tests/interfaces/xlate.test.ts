/**
 * Vectors worked by hand from the sources: Xen's pte_enter / pte_remove
 * (xen/arch/powerpc/papr/xlate.c @ 1aa3c54a31^) with union pte's bit layout
 * (xen/include/asm-powerpc/htab.h:70-104), Linux 2.6.18's htab_bolt_mapping
 * (arch/powerpc/mm/hash_utils_64.c:144-181 @ el5-274).
 */
import { IO_HOLE_START_MFN } from '../../src/machine/constants';
import { Machine } from '../../src/machine/machine';
import { parseProfile } from '../../src/machine/profile';
import { HashTable } from '../../src/hpt/table';
import { MiB } from '../../src/util/size';
import { Domain } from '../../src/xen/domain';
import { allocateRma } from '../../src/xen/mm';
import { HptHcalls } from '../../src/xen/hcalls/hpt';
import { H_ENTER, H_PARAMETER, H_REMOVE, H_RESCINDED, H_SUCCESS } from '../../src/xen/hcalls/papr';
import { elfSymbols, kernelText } from '../../src/guest/kernel_image';
import { linearRFlags } from '../../src/hpt/constants';
import { syntheticKernel } from '../../src/builder/images';

function setup(referenceable: (mfn: number) => boolean = () => true) {
  const m = Machine.boot(parseProfile({ name: 't', ram: '8G' }, 'test'));
  const mk = (domid: number): Domain => {
    const rma = allocateRma(m, domid, 64 * MiB);
    const d = new Domain(domid, domid === 0, false, 16384, { mfn: rma.mfn, order: rma.order }, rma.memory);
    d.arch.hpt = { mfn: m.allocXenBlock(6, `hpt dom${domid}`, 'test'), order: 6 };
    return d;
  };
  const dom0 = mk(0);
  const dom1 = mk(1);
  const tables = new Map([dom0, dom1].map((d) => [d.domid, new HashTable(256 * 1024)]));
  const hc = new HptHcalls(m, (d) => tables.get(d.domid)!, () => undefined, referenceable);
  return { m, dom0, dom1, hc, t0: tables.get(0)! };
}

const io = BigInt(IO_HOLE_START_MFN + 0x10); // mfn 0x80010: IO to Xen too (maddr > 2 GiB, platform.c:42)
const V = 0x1234000n << 7n | 1n; // some AVPN, VALID

describe("H_ENTER of an IO frame: W=0, I=1, G=1 (xlate.c:203-213)", () => {
  it.each([
    ['I|G (0x28)', 0x28n, H_SUCCESS],
    ['W|I|G (0x68)', 0x68n, H_PARAMETER],
    ['I only (0x20)', 0x20n, H_PARAMETER],
    ['G only (0x08)', 0x08n, H_PARAMETER],
    ['M|I|G (0x38): M is not checked', 0x38n, H_SUCCESS],
  ])('%s', (_n, wimg, want) => {
    const { dom0, hc } = setup();
    expect(hc.call(dom0, H_ENTER, [0n, 0n, V, (io << 12n) | wimg]).ret).toBe(want);
  });
});

describe('reserved bits cleared (xlate.c:223-230; masks from htab.h:79-92)', () => {
  it("clears v's lock 0x40 and res 0x20, keeps Linux's 0x8 (Xen's sw bit); clears r's pp0 (bit 63), ts (bit 62) and res2 0xc00", () => {
    const { dom0, hc, t0 } = setup();
    const mfn = BigInt(dom0.rma.mfn + 1);
    const v = V | 0x40n | 0x20n | 0x08n;
    const r = (1n << 63n) | (1n << 62n) | (mfn << 12n) | 0xc00n | 0x190n;
    const out = hc.call(dom0, H_ENTER, [1n << 39n /* H_EXACT */, 8n, v, r]);
    expect(out.ret).toBe(H_SUCCESS);
    expect(t0.v(8)).toBe(V | 0x08n);
    expect(t0.r(8)).toBe((mfn << 12n) | 0x190n);
  });
});

describe('a large page\'s size from the RPN\'s low 1-bits (xlate.c:164-189; the 970 has one size, ppc970.c:90-92)', () => {
  it('refuses RPN bit 0 set (lp_size 1 >= large_page_sizes 1) and masks the rest to 16 MiB', () => {
    const { dom0, hc, t0 } = setup();
    const base = BigInt(dom0.rma.mfn); // 64 MiB aligned: a 16 MiB page of its own
    const vL = V | 0x4n; // LARGE
    expect(hc.call(dom0, H_ENTER, [0n, 0n, vL, ((base + 1n) << 12n) | 0x190n]).ret).toBe(H_PARAMETER);
    // Bit 1 set, bit 0 clear: lp_size 0, and pfn = rpn & ~0xfff (xlate.c:188-189).
    const ok = hc.call(dom0, H_ENTER, [0n, 0n, vL, ((base + 0x12n) << 12n) | 0x190n]);
    expect(ok.ret).toBe(H_SUCCESS);
    expect(t0.r(Number(ok.out[0]))).toBe((base << 12n) | 0x190n);
  });
});

describe('H_Rescinded when a foreign page\'s reference cannot be taken (xlate.c:232-247)', () => {
  it('returns H_RESCINDED (papr.h:160: -18) and takes no reference', () => {
    const { m, dom0, dom1, hc } = setup(() => false);
    const mfn = dom1.rma.mfn + 3;
    expect(hc.call(dom0, H_ENTER, [0n, 0n, V, (BigInt(mfn) << 12n) | 0x190n]).ret).toBe(H_RESCINDED);
    expect(H_RESCINDED).toBe(-18);
    expect(m.pageRefs.get(mfn)).toBeUndefined();
  });
});

describe('H_REMOVE of an invalid slot (xlate.c:538-558)', () => {
  it('is H_SUCCESS with the old (zero) words, as Xen does it (PAPR and QEMU: H_NOT_FOUND)', () => {
    const { dom0, hc } = setup();
    expect(hc.call(dom0, H_REMOVE, [0n, 40n, 0n])).toEqual({ ret: H_SUCCESS, out: [0n, 0n] });
  });
});

describe("Linux 2.6.18's bolted r word: mode_rw (:485), | HPTE_R_N outside kernel text (hash_utils_64.c:164-166)", () => {
  it('gives 0x190 in [_stext, __init_end) and 0x194 past it', () => {
    const text = { start: 0, end: 0x400000 };
    expect(linearRFlags(text, 0)).toBe(0x190);
    expect(linearRFlags(text, 0x3ff000)).toBe(0x190);
    expect(linearRFlags(text, 0x400000)).toBe(0x194);
    expect(linearRFlags(text, 0x80000000)).toBe(0x194);
  });

  it("reads _stext and __init_end from the synthetic kernel's ELF64 symbols: KERNELBASE and two thirds of 6 MiB", () => {
    const img = syntheticKernel(6 * MiB);
    const syms = elfSymbols(img.bytes, ['_stext', '__init_end'])!;
    expect(syms.get('_stext')).toBe(0xc000000000000000n);
    expect(syms.get('__init_end')).toBe(0xc000000000400000n);
    expect(kernelText(img.bytes, img.size)).toEqual({ start: 0, end: 0x400000, source: 'symbols' });
  });

  it('takes the whole image as text when it has no symbol table', () => {
    expect(kernelText(new Uint8Array(64), 5 * MiB)).toEqual({ start: 0, end: 5 * MiB, source: 'image' });
  });
});
