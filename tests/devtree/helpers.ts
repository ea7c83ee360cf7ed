/** Shared by the devtree tests: fixtures, the external dtc tools, and a blob assembler for broken blobs. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { itWith as itWithTool } from '../helpers/tools';

export const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'firmware');

/** Every firmware blob shipped in fixtures/firmware. */
export function fixtureBlobs(): { name: string; file: string; blob: Uint8Array }[] {
  return fs
    .readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.dtb'))
    .sort()
    .map((f) => ({ name: f.replace(/\.dtb$/, ''), file: path.join(FIXTURES, f), blob: new Uint8Array(fs.readFileSync(path.join(FIXTURES, f))) }));
}

/** '1.7' when the installed dtc splits string lists ("a", "b"): dtc >= 1.7.1. */
export function installedDtcStyle(): '1.6' | '1.7' {
  const out = spawnSync('dtc', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) return '1.6';
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return maj > 1 || (maj === 1 && (min > 7 || (min === 7 && patch >= 1))) ? '1.7' : '1.6';
}

/** `it` when the tool is installed; when not, a skip with one warning, or a failure under CI=true (tests/helpers/cli.ts). */
export function itWith(tool: 'dtc' | 'fdtget'): jest.It {
  return itWithTool(tool);
}

let tmpDir: string | undefined;
export function tmpFile(name: string, data: Uint8Array): string {
  tmpDir ??= fs.mkdtempSync(path.join(process.env.PPCDB_TEST_ROOT ?? os.tmpdir(), 'devtree-test-'));
  const file = path.join(tmpDir, name);
  fs.writeFileSync(file, data);
  return file;
}

/** `dtc -I dtb -O dts` of a blob, as latin1 text (dtc prints raw bytes). */
export function dtcDecompile(blob: Uint8Array, name = 'blob.dtb'): string {
  const file = tmpFile(name, blob);
  const r = spawnSync('dtc', ['-q', '-f', '-I', 'dtb', '-O', 'dts', file], { encoding: 'latin1' });
  if (r.status !== 0) throw new Error(`dtc failed on ${name}: ${r.stderr}`);
  return r.stdout;
}

export function fdtget(blob: Uint8Array, type: string, node: string, prop: string): string {
  const file = tmpFile('fdtget.dtb', blob);
  const r = spawnSync('fdtget', ['-t', type, file, node, prop], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`fdtget ${node} ${prop} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** A structure block token for the assembler. */
export type Tok =
  | ['begin', string]
  | ['end']
  | ['prop', string, number[] | Uint8Array]
  | ['prop-unpadded', string, number[]]
  | ['nop']
  | ['fin']
  | ['word', number];

export interface Assembly {
  blob: Uint8Array;
  /** Offset of each token in the blob, by index in the token list. */
  at: number[];
  structOff: number;
  stringsOff: number;
  rsvOff: number;
}

const be32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const be64 = (v: bigint): number[] => [...be32(Number(v >> 32n)), ...be32(Number(v & 0xffffffffn))];

/**
 * Lay out a blob from raw tokens as dtc would (header, reservations, struct,
 * strings) with a correct header, so each test breaks exactly one thing.
 */
export function assemble(tokens: Tok[], reservations: [bigint, bigint][] = [], version = 17): Assembly {
  const strings: number[] = [];
  const stringOff = new Map<string, number>();
  const nameOff = (n: string): number => {
    let o = stringOff.get(n);
    if (o === undefined) {
      o = strings.length;
      stringOff.set(n, o);
      for (const ch of n) strings.push(ch.charCodeAt(0));
      strings.push(0);
    }
    return o;
  };
  const rsvOff = 40;
  const rsv: number[] = [];
  for (const [a, s] of reservations) rsv.push(...be64(a), ...be64(s));
  rsv.push(...be64(0n), ...be64(0n));
  const structOff = rsvOff + rsv.length;
  const struct: number[] = [];
  const at: number[] = [];
  const pad = (): void => {
    while (struct.length % 4) struct.push(0);
  };
  for (const t of tokens) {
    at.push(structOff + struct.length);
    switch (t[0]) {
      case 'begin':
        struct.push(...be32(1));
        for (const ch of t[1]) struct.push(ch.charCodeAt(0));
        struct.push(0);
        pad();
        break;
      case 'end':
        struct.push(...be32(2));
        break;
      case 'prop':
      case 'prop-unpadded':
        struct.push(...be32(3), ...be32(t[2].length), ...be32(nameOff(t[1])), ...t[2]);
        if (t[0] === 'prop') pad();
        break;
      case 'nop':
        struct.push(...be32(4));
        break;
      case 'fin':
        struct.push(...be32(9));
        break;
      case 'word':
        struct.push(...be32(t[1]));
        break;
    }
  }
  const stringsOff = structOff + struct.length;
  const total = stringsOff + strings.length;
  const header = [
    ...be32(0xd00dfeed),
    ...be32(total),
    ...be32(structOff),
    ...be32(stringsOff),
    ...be32(rsvOff),
    ...be32(version),
    ...be32(16),
    ...be32(0),
    ...be32(strings.length),
    ...be32(struct.length),
  ];
  const blob = new Uint8Array([...header, ...rsv, ...struct, ...strings]);
  return { blob, at, structOff, stringsOff, rsvOff };
}

export function setU32(blob: Uint8Array, at: number, v: number): Uint8Array {
  const copy = blob.slice();
  copy.set(be32(v), at);
  return copy;
}

export function setU64(blob: Uint8Array, at: number, v: bigint): Uint8Array {
  const copy = blob.slice();
  copy.set(be64(v), at);
  return copy;
}
