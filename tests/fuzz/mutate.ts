/**
 * Mutations for the fuzz suites, shared by tests/fuzz/*.test.ts: firmware
 * blobs (bytes and big-endian u32s overwritten, truncated, extended, a
 * cells/size field set to a boundary value), argument vectors, and forged
 * states (a decoded System changed as a bug would change it).
 */
import * as fc from 'fast-check';
import type { System } from '../../src/xen/system';

export const BOUNDARY_U32 = [0, 1, 2, 3, 4, 5, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10, 0x28, 0x38];

/** One edit of a blob. */
export type BlobEdit = { kind: 'byte'; at: number; value: number } | { kind: 'u32'; at: number; value: number } | { kind: 'truncate'; at: number } | { kind: 'append'; n: number };

export const blobEdit: fc.Arbitrary<BlobEdit> = fc.oneof(
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...BOUNDARY_U32), fc.integer({ min: 0, max: 0xffffffff })) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('append' as const), n: fc.integer({ min: 1, max: 64 }) }),
);

export function applyBlobEdits(base: Uint8Array, edits: BlobEdit[]): Buffer {
  let b = Buffer.from(base);
  for (const e of edits) {
    if (b.length === 0) break;
    if (e.kind === 'byte') b[e.at % b.length] = e.value;
    else if (e.kind === 'u32') {
      const at = (e.at % Math.max(1, b.length - 3)) & ~3;
      if (at + 4 <= b.length) b.writeUInt32BE(e.value >>> 0, at);
    } else if (e.kind === 'truncate') b = b.subarray(0, e.at % b.length);
    else b = Buffer.concat([b, Buffer.alloc(e.n, 0xa5)]);
  }
  return b;
}

const WORDS = ['construct', 'inspect', 'p2m', 'rma', 'devtree', 'hpt', 'validate', 'limits', 'list', 'audit', 'balloon', 'create-domu', 'destroy-domu', 'map-foreign', 'unmap-foreign', 'xencomm', 'frob'];
const OPTS = ['--mem', '--max-mem', '--rma', '--p2m-placement', '--of-at', '--entry-size', '--domus', '--domid', '--pfn', '--from', '--pteg', '--ea', '--target', '--range', '--linear-page', '--translation', '--machine', '--ram', '--kernel-size', '--initrd-size', '--paddr', '--len', '--json', '--help', '--no-boot', '--bogus', '--'];
const VALUES = ['', ' ', '0', '1', '-1', '+1', '4.0', '1e3', '0x', '0x10', '4G', '64M', '4G\nX', '\u0007', '\t1', '9007199254740993', '99999999999999999999T', 'after-of', 'end', 'legacy', '16M', '4K', 'a'.repeat(300), 'js21', 'maple', '/dev/zero', '1-0', '0-1'];

/** An argument vector: a command word or two, then options and values in any order. */
export const argv: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 2 }),
    fc.array(fc.oneof(fc.constantFrom(...OPTS), fc.constantFrom(...VALUES), fc.string({ maxLength: 6 })), { maxLength: 6 }),
  )
  .map(([words, rest]) => [...words, ...rest]);

/** How a bug could leave a decoded System: one structural change. */
export const FORGERIES: [string, (sys: System, n: number) => void][] = [
  ['dom0 removed', (sys) => sys.domains.delete(0)],
  ['a domain under another key', (sys, n) => { const d = sys.domains.get(1) ?? sys.dom0(); sys.domains.set(2 + (n % 3), d); }],
  ['a domid field changed', (sys, n) => { const d = sys.domains.get(1) ?? sys.dom0(); Object.assign(d, { domid: n % 4 }); }],
  ['tot_pages changed', (sys, n) => { sys.dom0().totPages = [0, 1, n, -1, 2 ** 53, sys.dom0().totPages + 1][n % 6]!; }],
  ['max_pages changed', (sys, n) => { sys.dom0().maxPages = [0, n, 1.5][n % 3]!; }],
  ['an extent added', (sys, n) => sys.dom0().extents.push([n, 0x100000, 4096 * (n % 64), 2 ** 40][n % 4]!)],
  ['an extent dropped', (sys) => sys.dom0().extents.pop()],
  ['the p2m address moved', (sys, n) => { sys.dom0().p2mPaddr = [n, 64 * 1024 * 1024, 2 ** 40][n % 3]!; }],
  ['the p2m entries changed', (sys, n) => { sys.dom0().p2mEntries = [0, n, 2 ** 31][n % 3]!; }],
  ['an owned run changed', (sys, n) => { const r = sys.machine.frames.all()[n % sys.machine.frames.all().length] as { mfn: number; count: number; owner: number | 'xen' }; [() => (r.count += 4096), () => (r.mfn = 2 ** 40), () => (r.owner = 7), () => (r.count = 0)][n % 4]!(); }],
  ['a page reference added', (sys, n) => sys.machine.pageRefs.set([n, 2 ** 50, -1][n % 3]!, 1)],
  ['a foreign mapping added', (sys, n) => sys.foreign.push({ caller: n % 3, domid: (n + 1) % 3, pfn: n, mfn: n * 7, ea: 'c000', slot: n })],
  ['the layout dropped', (sys) => { delete sys.dom0().layout; }],
  ['the build record dropped', (sys) => { delete sys.build; }],
  ['the hash table order changed', (sys, n) => { const h = sys.dom0().arch.hpt; if (h) h.order = [0, 25, h.order + 1][n % 3]!; }],
  ['a p2m entry changed', (sys, n) => { const d = sys.dom0(); d.p2m().set(n % d.p2mEntries, [0x10, 0xffffffff, d.rma.mfn][n % 3]!); }],
  ['the RMA moved', (sys, n) => { const d = sys.dom0(); Object.assign(d, { rma: { mfn: d.rma.mfn + [1, 16384, -16384][n % 3]!, order: d.rma.order } }); }],
  ['a domU\'s Xen p2m dropped', (sys) => { const d = sys.domains.get(1); if (d) d.xenP2m = undefined; }],
  ['vcpu gprs cut', (sys) => { sys.dom0().vcpu0.gprs.length = 3; }],
  ['images dropped', (sys) => Object.assign(sys.dom0(), { images: {} })],
];
