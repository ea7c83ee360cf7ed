import {
  DeviceTreeError,
  FdtNode,
  addChild,
  addressCells,
  dec,
  emptyTree,
  enc,
  encodeReg,
  findNode,
  getProp,
  readReg,
  removeProp,
  setProp,
  sizeCells,
} from '../../src/devtree/tree';

const node = (name: string, props: [string, Uint8Array][] = [], children: FdtNode[] = []): FdtNode => ({
  name,
  props: props.map(([n, value]) => ({ name: n, value })),
  children,
});

describe('tree model', () => {
  it('starts empty at version 17 / 16', () => {
    const t = emptyTree();
    expect(t).toEqual({ version: 17, lastCompVersion: 16, bootCpuidPhys: 0, reservations: [], root: { name: '', props: [], children: [] } });
  });

  it('finds nodes by path, exact names first, unit-less names only when unique', () => {
    const root = node('', [], [
      node('cpus', [], [node('PowerPC,970@0'), node('PowerPC,970@1')]),
      node('memory@0'),
      node('xen'),
      node('pci@1'),
      node('pci@2'),
      node('pci'),
    ]);
    expect(findNode(root, '/')).toBe(root);
    expect(findNode(root, '')).toBe(root);
    expect(findNode(root, '/xen')?.name).toBe('xen');
    expect(findNode(root, '/cpus/PowerPC,970@1')?.name).toBe('PowerPC,970@1');
    expect(findNode(root, '/memory')?.name).toBe('memory@0');
    expect(findNode(root, '/memory@0/')?.name).toBe('memory@0');
    expect(findNode(root, '/cpus/PowerPC,970')).toBeUndefined(); // two candidates
    expect(findNode(root, '/pci')?.name).toBe('pci'); // the exact name wins
    expect(findNode(root, '/memory@1')).toBeUndefined();
    expect(findNode(root, '/nothing/here')).toBeUndefined();
  });

  it('sets properties in place or appends, removes, and keeps child order', () => {
    const n = node('n', [['a', enc.u32(1)], ['b', enc.u32(2)]]);
    setProp(n, 'a', enc.u32(9));
    setProp(n, 'c', enc.empty());
    expect(n.props.map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(dec.u32(getProp(n, 'a')!.value)).toBe(9);
    removeProp(n, 'b');
    removeProp(n, 'missing');
    expect(n.props.map((p) => p.name)).toEqual(['a', 'c']);
    expect(getProp(n, 'b')).toBeUndefined();
    addChild(n, node('x'));
    const y = addChild(n, node('y'));
    expect(y.name).toBe('y');
    expect(n.children.map((c) => c.name)).toEqual(['x', 'y']);
  });
});

describe('value codecs', () => {
  it('encodes big-endian cells and u64s', () => {
    expect([...enc.u32(1, 0xdeadbeef, -1)]).toEqual([0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff]);
    expect([...enc.u64(0x1_0000_0002n, 3)]).toEqual([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3]);
    expect([...enc.cells([0x1_8000_0000, 5], 2)]).toEqual([0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    expect([...enc.cells([7], 1)]).toEqual([0, 0, 0, 7]);
    expect(enc.empty().length).toBe(0);
  });

  it('encodes strings and string lists with NULs', () => {
    expect([...enc.str('ab')]).toEqual([0x61, 0x62, 0]);
    expect([...enc.strs(['a', '', 'b'])]).toEqual([0x61, 0, 0, 0x62, 0]);
    expect(enc.strs([]).length).toBe(0);
  });

  it('refuses values that do not fit', () => {
    expect(() => enc.u32(0x1_0000_0000)).toThrow(RangeError);
    expect(() => enc.u32(1.5)).toThrow(RangeError);
    expect(() => enc.u64(-1)).toThrow(RangeError);
    expect(() => enc.u64(1n << 64n)).toThrow(RangeError);
    expect(() => enc.u64(2 ** 60)).toThrow(RangeError); // not a safe integer: use a bigint
    expect(() => enc.cells([0x1_0000_0000], 1)).toThrow(RangeError);
    expect(() => enc.cells([1], 5)).toThrow(RangeError);
    expect(() => enc.str('a\0b')).toThrow(RangeError);
  });

  it('decodes what it encodes', () => {
    expect(dec.u32(enc.u32(1, 2, 3), 2)).toBe(3);
    expect(dec.u64(enc.u64(1, 0xffff_ffff_ffff_ffffn), 1)).toBe(0xffff_ffff_ffff_ffffn);
    expect(dec.str(enc.str('hello'))).toBe('hello');
    expect(dec.str(new Uint8Array([0x61, 0x62]))).toBe('ab');
    expect(dec.strs(enc.strs(['a', '', 'b']))).toEqual(['a', '', 'b']);
    expect(dec.strs(new Uint8Array([0x61, 0, 0x62]))).toEqual(['a', 'b']);
    expect(dec.cells(enc.cells([1n, 1n << 40n], 2), 2)).toEqual([1n, 1n << 40n]);
    expect(dec.cells(enc.u32(4, 5), 1)).toEqual([4n, 5n]);
  });

  it('rejects short values with DeviceTreeError', () => {
    expect(() => dec.u32(new Uint8Array(3))).toThrow(DeviceTreeError);
    expect(() => dec.u32(enc.u32(1), 1)).toThrow(DeviceTreeError);
    expect(() => dec.u64(enc.u32(1))).toThrow(DeviceTreeError);
    expect(() => dec.cells(enc.u32(1, 2, 3), 2)).toThrow(DeviceTreeError);
  });
});

describe('reg and cells', () => {
  it('defaults to 2 address cells and 1 size cell', () => {
    expect(addressCells(node('bus'))).toBe(2);
    expect(sizeCells(node('bus'))).toBe(1);
  });

  it('reads and writes reg with the parent cells (2/2, 1/1, 1/0)', () => {
    const root = node('', [['#address-cells', enc.u32(2)], ['#size-cells', enc.u32(2)]]);
    const mem = node('memory@100000000', [['reg', encodeReg(root, [{ address: 0x1_0000_0000, size: 14n << 30n }])]]);
    expect([...getProp(mem, 'reg')!.value]).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0x80, 0, 0, 0]);
    expect(readReg(root, mem)).toEqual([{ address: 0x1_0000_0000n, size: 14n << 30n }]);

    const small = node('', [['#address-cells', enc.u32(1)], ['#size-cells', enc.u32(1)]]);
    const two = node('m', [['reg', encodeReg(small, [{ address: 0, size: 0x8000_0000 }, { address: 0x9000_0000, size: 0x1000 }])]]);
    expect(getProp(two, 'reg')!.value.length).toBe(16);
    expect(readReg(small, two)).toEqual([
      { address: 0n, size: 0x8000_0000n },
      { address: 0x9000_0000n, size: 0x1000n },
    ]);
    expect(() => encodeReg(small, [{ address: 0, size: 0x1_0000_0000 }])).toThrow(RangeError);

    const cpus = node('cpus', [['#address-cells', enc.u32(1)], ['#size-cells', enc.u32(0)]]);
    const cpu = node('PowerPC,970@2', [['reg', enc.u32(2)]]);
    expect(readReg(cpus, cpu)).toEqual([{ address: 2n, size: 0n }]);
    expect([...encodeReg(cpus, [{ address: 2, size: 0 }])]).toEqual([0, 0, 0, 2]);
  });

  it('returns no entries without reg and rejects a reg of the wrong length', () => {
    const root = node('', [['#address-cells', enc.u32(2)], ['#size-cells', enc.u32(2)]]);
    expect(readReg(root, node('x'))).toEqual([]);
    expect(() => readReg(root, node('m', [['reg', enc.u32(0, 0, 1)]]))).toThrow(DeviceTreeError);
    const bad = node('', [['#address-cells', enc.u64(1)]]);
    expect(() => addressCells(bad)).toThrow(DeviceTreeError);
  });
});
