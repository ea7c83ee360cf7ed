import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { toDts } from '../../src/devtree/dts';
import { readFdt } from '../../src/devtree/fdt_ro';
import { writeFdt } from '../../src/devtree/fdt_wr';
import { DeviceTree, DeviceTreeError, emptyTree, enc } from '../../src/devtree/tree';
import { plainTree } from './arbitraries';
import { FIXTURES, dtcDecompile, fixtureBlobs, installedDtcStyle, itWith } from './helpers';

const fixtures = fixtureBlobs();
const itDtc = itWith('dtc');
const style = installedDtcStyle();

/** A tree with one property per value shape dtc guesses differently. */
function shapes(): DeviceTree {
  const t = emptyTree();
  t.reservations = [{ address: 0x1000n, size: 0x20000n }];
  const p = (name: string, value: Uint8Array | number[]): void => {
    t.root.props.push({ name, value: value instanceof Uint8Array ? value : new Uint8Array(value) });
  };
  p('compatible', enc.strs(['ibm,js21', 'chrp']));
  p('model', enc.str('IBM,8844'));
  p('one-char', enc.str('x'));
  p('just-nul', [0]);
  p('empty');
  p('cells', enc.u32(1, 0x20, 0xdeadbeef));
  p('bytes', [1, 2, 3]);
  p('u64', enc.u64(0x100000000n));
  p('escapes', [0x09, 0x22, 0x5c, 0x0a, 0x61, 0x07, 0x0d, 0]);
  p('not-a-string', [0x80, 0x61, 0x62, 0]);
  p('too-many-nuls', [0x61, 0, 0, 0]);
  p('empty-strings', [0x61, 0x62, 0, 0, 0x63, 0]);
  p('name', enc.str('not-the-node-name'));
  t.root.children.push(
    { name: 'memory@0', props: [{ name: 'name', value: enc.str('memory') }, { name: 'device_type', value: enc.str('memory') }], children: [] },
    { name: 'cpus', props: [], children: [{ name: 'PowerPC,970@0', props: [], children: [] }] },
  );
  return t;
}

describe('toDts', () => {
  it('prints every value shape as dtc 1.6.1 does', () => {
    expect(toDts(shapes())).toBe(
      [
        '/dts-v1/;',
        '',
        '/memreserve/\t0x0000000000001000 0x0000000000020000;',
        '/ {',
        '\tcompatible = "ibm,js21\\0chrp";',
        '\tmodel = "IBM,8844";',
        '\tone-char = "x";',
        '\tjust-nul = [00];',
        '\tempty;',
        '\tcells = <0x01 0x20 0xdeadbeef>;',
        '\tbytes = [01 02 03];',
        '\tu64 = <0x01 0x00>;',
        '\tescapes = "\\t\\"\\\\\\na\\a\\r";',
        '\tnot-a-string = <0x80616200>;',
        '\ttoo-many-nuls = <0x61000000>;',
        '\tempty-strings = "ab\\0\\0c";',
        '\tname = "not-the-node-name";',
        '',
        '\tmemory@0 {',
        '\t\tdevice_type = "memory";',
        '\t};',
        '',
        '\tcpus {',
        '',
        '\t\tPowerPC,970@0 {',
        '\t\t};',
        '\t};',
        '};',
        '',
      ].join('\n'),
    );
  });

  it('splits string lists as dtc 1.7.1 and later do', () => {
    const out = toDts(shapes(), { dtcVersion: '1.7' });
    expect(out).toContain('\tcompatible = "ibm,js21", "chrp";\n');
    expect(out).toContain('\tempty-strings = "ab", "", "c";\n');
    expect(out).toContain('\tmodel = "IBM,8844";\n');
  });

  it('keeps a name property when any name property is not one string (as dtc does)', () => {
    const t = shapes();
    t.root.children[1]!.props.push({ name: 'name', value: enc.strs(['a', 'b']) });
    expect(toDts(t)).toContain('\t\tname = "memory";\n');
  });

  it('prints one node with its subtree for a path', () => {
    expect(toDts(shapes(), { path: '/cpus' })).toBe('cpus {\n\n\tPowerPC,970@0 {\n\t};\n};\n');
    expect(toDts(shapes(), { path: '/memory' })).toBe('memory@0 {\n\tdevice_type = "memory";\n};\n');
    expect(() => toDts(shapes(), { path: '/nope' })).toThrow(DeviceTreeError);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('matches the committed dtc 1.6.1 output for %s', (name, f) => {
    const golden = fs.readFileSync(path.join(FIXTURES, 'decompiled', `${name}.dts`), 'latin1');
    expect(toDts(readFdt(f.blob))).toBe(golden);
  });

  itDtc('matches the installed dtc on every fixture, original and re-written', () => {
    for (const f of fixtures) {
      const tree = readFdt(f.blob);
      const ours = toDts(tree, { dtcVersion: style });
      expect(ours).toBe(dtcDecompile(f.blob, `${f.name}.dtb`));
      expect(dtcDecompile(writeFdt(tree), `${f.name}-rewritten.dtb`)).toBe(ours);
    }
  });

  itDtc('matches the installed dtc on the value shapes', () => {
    const t = shapes();
    expect(toDts(t, { dtcVersion: style })).toBe(dtcDecompile(writeFdt(t), 'shapes.dtb'));
  });

  itDtc('property: matches the installed dtc on random trees', () => {
    fc.assert(
      fc.property(plainTree, (tree) => {
        expect(toDts(tree, { dtcVersion: style })).toBe(dtcDecompile(writeFdt(tree), 'random.dtb'));
      }),
      { numRuns: 40 },
    );
  });
});
