/** fast-check generators of device trees for the property tests. */
import fc from 'fast-check';
import { DeviceTree, FdtNode, FdtProperty, FdtReservation } from '../../src/devtree/tree';

/** Any name the blob can carry: bytes 1..255 (a NUL would end it). */
const anyName = (max: number): fc.Arbitrary<string> =>
  fc.array(fc.integer({ min: 1, max: 255 }), { maxLength: max }).map((codes) => String.fromCharCode(...codes));

/** Names like real ones, so dtc prints them as we do and checks stay quiet. */
const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789,-_+#?';
const plainName = fc
  .tuple(
    fc.array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 12 }).map((c) => c.join('')),
    fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }),
  )
  .map(([base, unit]) => (unit === undefined ? base : `${base}@${unit.toString(16)}`));

const printable = fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 10 });

/** Values shaped like strings, string lists, cells and bytes, plus odd ones for dtc's guessing. */
const value: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 6 }).map((cells) => {
    const v = new Uint8Array(cells.length * 4);
    cells.forEach((c, i) => new DataView(v.buffer).setUint32(i * 4, c));
    return v;
  }),
  fc.array(fc.oneof(printable, fc.constant([7, 9, 10, 0x22, 0x5c]), fc.constant([])), { minLength: 1, maxLength: 4 }).map(
    (strings) => new Uint8Array(strings.flatMap((s) => [...s, 0])),
  ),
  fc.constant(new Uint8Array(0)),
);

function tree(name: fc.Arbitrary<string>, maxDepth: number): fc.Arbitrary<DeviceTree> {
  const prop: fc.Arbitrary<FdtProperty> = fc.record({ name, value });
  const { node } = fc.letrec<{ node: FdtNode }>((tie) => ({
    node: fc
      .record({
        name,
        props: fc.array(prop, { maxLength: 5 }),
        children: fc.oneof({ depthSize: 'small', maxDepth }, fc.constant([]), fc.array(tie('node'), { maxLength: 3 })),
        // A `name` property that repeats the node name is one dtc drops: generate some.
        nameProp: fc.constantFrom('none', 'none', 'base', 'full'),
      })
      .map(({ name: n, props, children, nameProp }) => {
        const value = nameProp === 'base' ? n.split('@')[0]! : n;
        const extra = nameProp === 'none' ? [] : [{ name: 'name', value: new Uint8Array([...value].map((c) => c.charCodeAt(0)).concat(0)) }];
        return { name: n, props: [...extra, ...props], children } as FdtNode;
      }),
  }));
  const reservations: fc.Arbitrary<FdtReservation[]> = fc
    .array(fc.tuple(fc.bigInt({ min: 0n, max: 1n << 40n }), fc.bigInt({ min: 1n, max: 1n << 40n })), { maxLength: 4 })
    .map((pairs) => {
      // Gaps and sizes laid end to end: sorted and disjoint, as the format requires.
      let at = 0n;
      return pairs.map(([gap, size]) => {
        const r = { address: at + gap, size };
        at = r.address + size;
        return r;
      });
    });
  return fc.record({
    version: fc.constant(17),
    lastCompVersion: fc.constant(16),
    bootCpuidPhys: fc.integer({ min: 0, max: 0xffffffff }),
    reservations,
    root: node.map((n) => ({ ...n, name: '' })),
  });
}

/** Trees with any byte in names: for the writer/reader round trip. */
export const anyTree = tree(anyName(10), 4);

/** Trees with realistic names: for comparing with dtc's output. */
export const plainTree = tree(plainName, 3);
