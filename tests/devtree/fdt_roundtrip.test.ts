import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { FDT_MAGIC } from '../../src/devtree/fdt';
import { FdtFormatError, fdtHeader, readFdt } from '../../src/devtree/fdt_ro';
import { writeFdt } from '../../src/devtree/fdt_wr';
import { DeviceTree, emptyTree, enc } from '../../src/devtree/tree';
import { anyTree } from './arbitraries';
import { FIXTURES, fixtureBlobs } from './helpers';

const fixtures = fixtureBlobs();

describe('FDT writer and reader', () => {
  it('writes the empty tree as dtc would', () => {
    const blob = writeFdt(emptyTree());
    const h = fdtHeader(blob);
    expect(h).toEqual({
      magic: FDT_MAGIC,
      totalSize: 0x48,
      offDtStruct: 0x38,
      offDtStrings: 0x48,
      offMemRsvmap: 0x28,
      version: 17,
      lastCompVersion: 16,
      bootCpuidPhys: 0,
      sizeDtStrings: 0,
      sizeDtStruct: 0x10, // BEGIN_NODE, empty name, END_NODE, END
    });
    expect(readFdt(blob)).toEqual(emptyTree());
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('reads %s and writes it back', (name, f) => {
    const tree = readFdt(f.blob);
    const again = writeFdt(tree);
    expect(readFdt(again)).toEqual(tree);
    // dtc's blobs come back byte for byte (same layout, same string sharing).
    if (!name.startsWith('qemu-')) expect(Buffer.from(again).equals(Buffer.from(f.blob))).toBe(true);
  });

  it('pads to minSize and counts the padding in totalsize', () => {
    const tree = emptyTree();
    tree.root.props.push({ name: 'model', value: enc.str('x') });
    const blob = writeFdt(tree, { minSize: 4096 });
    expect(blob.length).toBe(4096);
    expect(fdtHeader(blob).totalSize).toBe(4096);
    expect(blob.subarray(200).every((b) => b === 0)).toBe(true);
    expect(readFdt(blob)).toEqual(tree);
    expect(writeFdt(tree, { minSize: 10 }).length).toBeLessThan(4096); // never truncates
  });

  it('shares property names like dtc (a name that ends another reuses its tail)', () => {
    const tree = emptyTree();
    tree.root.props.push({ name: '#size-cells', value: enc.u32(1) }, { name: 'size-cells', value: enc.u32(2) }, { name: '#size-cells', value: enc.u32(3) });
    const blob = writeFdt(tree);
    expect(fdtHeader(blob).sizeDtStrings).toBe('#size-cells'.length + 1);
    expect(readFdt(blob)).toEqual(tree);
  });

  it('keeps values independent of the input buffer', () => {
    const blob = fs.readFileSync(path.join(FIXTURES, 'maple.dtb'));
    const tree = readFdt(blob);
    const before = writeFdt(tree);
    blob.fill(0);
    expect(Buffer.from(writeFdt(tree)).equals(Buffer.from(before))).toBe(true);
  });

  it('refuses trees the format cannot carry', () => {
    const named = emptyTree();
    named.root.name = 'x';
    expect(() => writeFdt(named)).toThrow(RangeError);
    const overlap = emptyTree();
    overlap.reservations = [
      { address: 0x1000n, size: 0x2000n },
      { address: 0x2000n, size: 0x1000n },
    ];
    expect(() => writeFdt(overlap)).toThrow(/overlap/);
    const empty = emptyTree();
    empty.reservations = [{ address: 0x1000n, size: 0n }];
    expect(() => writeFdt(empty)).toThrow(RangeError);
    const wide = emptyTree();
    wide.root.children.push({ name: 'snow\u2603', props: [], children: [] });
    expect(() => writeFdt(wide)).toThrow(RangeError);
  });

  it('property: random trees round-trip through writer and reader', () => {
    fc.assert(
      fc.property(anyTree, fc.nat(512), (tree: DeviceTree, pad: number) => {
        const blob = writeFdt(tree);
        expect(readFdt(blob)).toEqual(tree);
        const padded = writeFdt(tree, { minSize: blob.length + pad });
        expect(readFdt(padded)).toEqual(tree);
        expect(Buffer.from(writeFdt(readFdt(blob))).equals(Buffer.from(blob))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

/** Read a mutated blob: it is either a clean FdtFormatError or a tree that writes and reads back the same. */
function readOrReject(blob: Uint8Array): void {
  let tree: DeviceTree;
  try {
    tree = readFdt(blob);
  } catch (e) {
    if (!(e instanceof FdtFormatError)) throw e;
    expect(e.message).toMatch(/^bad FDT at 0x[0-9a-f]+: /);
    return;
  }
  // What the reader accepts, the writer can write, and that reads back the same.
  const again = writeFdt(tree);
  expect(Buffer.from(writeFdt(readFdt(again))).equals(Buffer.from(again))).toBe(true);
}

describe('FDT reader on damaged blobs', () => {
  const seeds = fc.oneof(
    fc.constantFrom(...fixtures.map((f) => f.blob)),
    anyTree.map((t) => writeFdt(t)),
  );

  it('property: random byte changes give an error or a valid tree', () => {
    fc.assert(
      fc.property(seeds, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 6 }), (seed, edits) => {
        const blob = seed.slice();
        for (const [where, byte] of edits) blob[where % blob.length] = byte;
        readOrReject(blob);
      }),
      { numRuns: 300 },
    );
  });

  it('property: random aligned words (tokens, lengths, offsets, header fields) give an error or a valid tree', () => {
    const word = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 9, 0xffffffff, 0x80000000), fc.nat(0x100), fc.integer({ min: 0, max: 0xffffffff }));
    fc.assert(
      fc.property(seeds, fc.array(fc.tuple(fc.nat(), word), { minLength: 1, maxLength: 3 }), (seed, edits) => {
        const blob = seed.slice();
        const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
        for (const [where, w] of edits) view.setUint32((where % (blob.length >> 2)) * 4, w);
        readOrReject(blob);
      }),
      { numRuns: 300 },
    );
  });

  it('property: truncations and extensions give an error or a valid tree', () => {
    fc.assert(
      fc.property(seeds, fc.nat(), fc.boolean(), (seed, cut, fixSize) => {
        const blob = seed.slice(0, cut % (seed.length + 1));
        // Also claim the shorter size in the header, so the blocks themselves get cut.
        if (fixSize && blob.length >= 8) new DataView(blob.buffer).setUint32(4, blob.length);
        readOrReject(blob);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but FdtFormatError on tiny inputs', () => {
    for (let n = 0; n < 64; n++) readOrReject(new Uint8Array(n));
    const header = writeFdt(emptyTree());
    for (let n = 0; n <= header.length; n++) readOrReject(header.slice(0, n));
  });
});
