/**
 * One hand-broken blob per rule of the strict reader. Each must throw
 * FdtFormatError (never anything else) at the byte offset of the problem.
 */
import { FdtFormatError, readFdt } from '../../src/devtree/fdt_ro';
import * as fs from 'fs';
import * as path from 'path';
import { cli, tempDir } from '../helpers/cli';
import { Tok, assemble, setU32, setU64 } from './helpers';

const str = (s: string): number[] => [...s].map((c) => c.charCodeAt(0)).concat(0);

/* A good blob: / { compatible = "test"; cpu@1 { reg = <1>; }; }; with two reservations. */
const GOOD: Tok[] = [
  ['begin', ''], //              0
  ['prop', 'compatible', str('test')], // 1
  ['begin', 'cpu@1'], //         2
  ['prop', 'reg', [0, 0, 0, 1]], // 3
  ['end'], //                    4
  ['end'], //                    5
  ['fin'], //                    6
];
const RSV: [bigint, bigint][] = [
  [0x1000n, 0x1000n],
  [0x4000n, 0x1000n],
];
const good = assemble(GOOD, RSV);
const { blob, at, structOff, stringsOff, rsvOff } = good;
const H = { totalsize: 0x4, offStruct: 0x8, offStrings: 0xc, offRsv: 0x10, version: 0x14, lastComp: 0x18, sizeStrings: 0x20, sizeStruct: 0x24 };
const structSize = stringsOff - structOff;
const regNameOff = 'compatible'.length + 1;

/** Replace tokens in the good list and reassemble. */
function withTokens(edit: (t: Tok[]) => Tok[]): Uint8Array {
  return assemble(edit([...GOOD]), RSV).blob;
}

interface Case {
  rule: string;
  blob: () => Uint8Array;
  offset: number;
  says: RegExp;
}

const cases: Case[] = [
  { rule: 'blob too short for the magic', blob: () => blob.slice(0, 3), offset: 0, says: /too short for the magic/ },
  { rule: 'bad magic', blob: () => setU32(blob, 0, 0xd00dfeee), offset: 0, says: /magic 0xd00dfeee is not 0xd00dfeed/ },
  { rule: 'header truncated', blob: () => blob.slice(0, 30), offset: 0, says: /shorter than the 40-byte/ },
  { rule: 'version too old', blob: () => setU32(blob, H.version, 15), offset: H.version, says: /version 15 .*not supported/ },
  { rule: 'last_comp_version too new', blob: () => setU32(blob, H.lastComp, 18), offset: H.lastComp, says: /last_comp_version 18/ },
  {
    rule: 'version older than last_comp_version',
    blob: () => setU32(setU32(blob, H.version, 16), H.lastComp, 17),
    offset: H.version,
    says: /older than its last_comp_version/,
  },
  { rule: 'totalsize smaller than the header', blob: () => setU32(blob, H.totalsize, 0x20), offset: H.totalsize, says: /smaller than the 40-byte header/ },
  { rule: 'totalsize past the end of the file', blob: () => blob.slice(0, blob.length - 1), offset: H.totalsize, says: /past the end of the .*blob/ },
  { rule: 'reservation block inside the header', blob: () => setU32(blob, H.offRsv, 0x20), offset: H.offRsv, says: /inside the header/ },
  { rule: 'reservation block not 8-aligned', blob: () => setU32(blob, H.offRsv, rsvOff + 4), offset: H.offRsv, says: /not 8-byte aligned/ },
  { rule: 'reservation block past totalsize', blob: () => setU32(blob, H.offRsv, blob.length + 8), offset: H.offRsv, says: /ends past totalsize/ },
  { rule: 'structure block past totalsize', blob: () => setU32(blob, H.sizeStruct, structSize + 0x100), offset: H.offStruct, says: /structure block .* ends past totalsize/ },
  { rule: 'structure block not 4-aligned', blob: () => setU32(blob, H.offStruct, structOff + 2), offset: H.offStruct, says: /not 4-byte aligned/ },
  { rule: 'size_dt_struct not a multiple of 4', blob: () => setU32(blob, H.sizeStruct, structSize - 2), offset: H.sizeStruct, says: /not a multiple of 4/ },
  { rule: 'strings block past totalsize', blob: () => setU32(blob, H.sizeStrings, 0x1000), offset: H.offStrings, says: /strings block .* ends past totalsize/ },
  { rule: 'strings block overlapping the structure block', blob: () => setU32(blob, H.offStrings, stringsOff - 8), offset: H.offStrings, says: /overlaps the structure block/ },
  {
    rule: 'reservations without a (0, 0) terminator',
    blob: () => setU64(blob, rsvOff + 32 + 8, 0x10n),
    offset: rsvOff + 48,
    says: /runs into the structure block .* without a \(0, 0\) terminator/,
  },
  { rule: 'reservation of size 0 before the terminator', blob: () => setU64(blob, rsvOff + 32, 0x8000n), offset: rsvOff + 32, says: /has size 0/ },
  { rule: 'overlapping reservations', blob: () => setU64(blob, rsvOff + 16, 0x1800n), offset: rsvOff + 16, says: /overlaps the one at 0x28/ },
  { rule: 'reservation wrapping past 2^64', blob: () => setU64(blob, rsvOff + 24, 0xffff_ffff_ffff_f000n), offset: rsvOff + 16, says: /wraps past 2\^64/ },
  { rule: 'empty structure block', blob: () => assemble([], RSV).blob, offset: structOff, says: /structure block is empty/ },
  { rule: 'first token is not the root BEGIN_NODE', blob: () => withTokens((t) => [['nop'], ...t]), offset: structOff, says: /must start with the root's BEGIN_NODE, not NOP/ },
  { rule: 'root node with a name', blob: () => withTokens((t) => [['begin', 'root'], ...t.slice(1)]), offset: structOff + 4, says: /root node name is "root"/ },
  { rule: 'unknown token', blob: () => setU32(blob, at[4]!, 7), offset: at[4]!, says: /unknown token 0x7/ },
  {
    rule: 'token not 4-aligned (unpadded property value)',
    blob: () => withTokens((t) => t.map((x, i) => (i === 1 ? ['prop-unpadded', 'compatible', str('test')] : x))),
    offset: at[1]! + 12 + 8,
    says: /unknown token/,
  },
  {
    rule: 'node name not NUL-terminated inside the structure block',
    blob: () => setU32(setU32(blob, H.sizeStruct, at[2]! + 8 - structOff), at[2]! + 4, 0x63707540), // "cpu@" fills the block
    offset: at[2]! + 4,
    says: /node name is not NUL-terminated/,
  },
  {
    rule: 'property header past the structure block',
    blob: () => setU32(blob, H.sizeStruct, at[3]! + 4 - structOff),
    offset: at[3]!,
    says: /property header runs past/,
  },
  { rule: 'property length past the structure block', blob: () => setU32(blob, at[3]! + 4, 0x1000), offset: at[3]! + 4, says: /property length 0x1000 runs past/ },
  {
    rule: 'property name offset outside the strings block',
    blob: () => setU32(blob, at[3]! + 8, 0x1f0),
    offset: at[3]! + 8,
    says: /property name offset 0x1f0 is outside the strings block \(size 0xf\)/,
  },
  {
    rule: 'property name not NUL-terminated inside the strings block',
    blob: () => setU32(blob, H.sizeStrings, regNameOff + 2),
    offset: stringsOff + regNameOff,
    says: /not NUL-terminated inside the strings block/,
  },
  { rule: 'END inside an open node (BEGIN/END unbalanced)', blob: () => withTokens((t) => t.filter((_, i) => i !== 5)), offset: at[5]!, says: /1 node\(s\) still open/ },
  {
    rule: 'END_NODE without BEGIN_NODE',
    blob: () => withTokens((t) => [...t.slice(0, 6), ['end'], ['fin']]),
    offset: at[6]!,
    says: /END_NODE after the root node ended/,
  },
  {
    rule: 'property after a subnode',
    blob: () => withTokens((t) => [...t.slice(0, 5), ['prop', 'late', []], ...t.slice(5)]),
    offset: at[5]!,
    says: /property "late" of node "\/" comes after a subnode/,
  },
  {
    rule: 'a second root node',
    blob: () => withTokens((t) => [...t.slice(0, 6), ['begin', ''], ['end'], ['fin']]),
    offset: at[6]!,
    says: /BEGIN_NODE after the root node ended/,
  },
  {
    rule: 'a property after the root ended',
    blob: () => withTokens((t) => [...t.slice(0, 6), ['nop'], ['prop', 'x', []], ['fin']]),
    offset: at[6]! + 4,
    says: /PROP after the root node ended/,
  },
  { rule: 'no END token', blob: () => withTokens((t) => t.slice(0, 6)), offset: at[6]!, says: /ends before the END token/ },
  {
    rule: 'bytes after END (two END tokens)',
    blob: () => withTokens((t) => [...t, ['fin']]),
    offset: at[6]! + 4,
    says: /4 byte\(s\) after the END token/,
  },
];

describe('strict FDT reader: one broken blob per rule', () => {
  it('reads the unbroken blob', () => {
    const t = readFdt(blob);
    expect(t.reservations).toEqual(RSV.map(([address, size]) => ({ address, size })));
    expect(t.root.children[0]!.name).toBe('cpu@1');
  });

  it.each(cases.map((c) => [c.rule, c] as const))('%s', (_rule, c) => {
    let error: unknown;
    try {
      readFdt(c.blob());
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FdtFormatError);
    const e = error as FdtFormatError;
    expect(e.message).toMatch(/^bad FDT at 0x[0-9a-f]+: /);
    expect(e.message).toMatch(c.says);
    expect(e.offset).toBe(c.offset);
    expect(e.message.startsWith(`bad FDT at 0x${c.offset.toString(16)}: `)).toBe(true);
  });

  it('accepts NOPs between tokens and after the root', () => {
    const b = withTokens((t) => [t[0]!, ['nop'], t[1]!, ['nop'], ...t.slice(2, 6), ['nop'], t[6]!]);
    expect(readFdt(b).root.props[0]!.name).toBe('compatible');
  });

  it('reads version 16 blobs (36-byte header, no size_dt_struct)', () => {
    const v16 = assemble(GOOD, RSV, 16).blob;
    const t = readFdt(setU32(v16, H.sizeStruct, 0xffffffff)); // that word is not a header field in v16
    expect(t.version).toBe(16);
    expect(t.root.children[0]!.props[0]!.name).toBe('reg');
  });

  it('accepts later versions that are still compatible with 17', () => {
    expect(readFdt(setU32(blob, H.version, 18)).version).toBe(18);
  });
});

describe('construct --firmware-dtb with each broken blob', () => {
  // As a user meets them: exit 2, one line on stderr naming the file and the byte offset.
  const dir = tempDir('broken');
  it.each(cases.map((c) => [c.rule, c] as const))('%s: exit 2 with the offset', async (_rule, c) => {
    const file = path.join(dir, 'fw.dtb');
    fs.writeFileSync(file, c.blob());
    const r = await cli(['construct', '--firmware-dtb', file, '--ram', '2G'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toContain(`fw.dtb: bad FDT at 0x${c.offset.toString(16)}: `);
  });
});
