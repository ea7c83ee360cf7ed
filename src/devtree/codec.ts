/**
 * Property value encoders and decoders: big-endian cells, NUL-terminated
 * strings. Encoders reject values that do not fit (RangeError: a caller's
 * bug); decoders reject short values (DeviceTreeError: bad data in a tree).
 */
import { DeviceTreeError } from './model';
import { readBe32, writeBe32 } from '../util/bytes';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8');

const U32_LIMIT = 0x1_0000_0000;

function checkedU32(v: number): number {
  if (!Number.isInteger(v) || v < -0x8000_0000 || v >= U32_LIMIT) {
    throw new RangeError(`cell value ${v} is not a 32-bit integer`);
  }
  return v >>> 0;
}

function checkedUint(v: number | bigint, bits: number): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw new RangeError(`value ${v} is not a safe integer (pass a bigint)`);
  }
  const b = BigInt(v);
  if (b < 0n || b >= 1n << BigInt(bits)) {
    throw new RangeError(`value ${b} does not fit in ${bits} bits`);
  }
  return b;
}



/** Write `value` as `cellsEach` big-endian cells at `at` (most significant cell first). */
function putCells(out: Uint8Array, at: number, value: bigint, cellsEach: number): void {
  let rest = value;
  for (let i = cellsEach - 1; i >= 0; i--) {
    writeBe32(out, at + i * 4, Number(rest & 0xffff_ffffn));
    rest >>= 32n;
  }
}

function checkCellsEach(cellsEach: number): void {
  if (!Number.isInteger(cellsEach) || cellsEach < 0 || cellsEach > 4) {
    throw new RangeError(`cells per value must be 0..4, not ${cellsEach}`);
  }
}

function encodeString(s: string): Uint8Array {
  if (s.includes('\0')) throw new RangeError(`string ${JSON.stringify(s)} contains a NUL`);
  const bytes = utf8.encode(s);
  const v = new Uint8Array(bytes.length + 1);
  v.set(bytes);
  return v;
}

export const enc = {
  /** One big-endian u32 per argument (negative 32-bit values are two's complement). */
  u32(...cells: number[]): Uint8Array {
    const out = new Uint8Array(cells.length * 4);
    cells.forEach((c, i) => writeBe32(out, i * 4, checkedU32(c)));
    return out;
  },
  /** One big-endian u64 per argument. */
  u64(...vals: (number | bigint)[]): Uint8Array {
    const out = new Uint8Array(vals.length * 8);
    vals.forEach((v, i) => putCells(out, i * 8, checkedUint(v, 64), 2));
    return out;
  },
  /** UTF-8 bytes and a terminating NUL. */
  str(s: string): Uint8Array {
    return encodeString(s);
  },
  /** A string list: each string NUL-terminated, back to back. */
  strs(list: string[]): Uint8Array {
    const parts = list.map((s) => encodeString(s));
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  },
  /** A zero-length value (a boolean property such as `privileged`). */
  empty(): Uint8Array {
    return new Uint8Array(0);
  },
  /** Each value as `cellsEach` cells (1 or 2 for #address-cells / #size-cells; up to 4). */
  cells(values: (number | bigint)[], cellsEach: number): Uint8Array {
    checkCellsEach(cellsEach);
    const out = new Uint8Array(values.length * cellsEach * 4);
    values.forEach((v, i) => putCells(out, i * cellsEach * 4, checkedUint(v, 32 * cellsEach), cellsEach));
    return out;
  },
};

function need(v: Uint8Array, end: number, what: string): void {
  if (end > v.length) {
    throw new DeviceTreeError(`${what} needs ${end} bytes, value has ${v.length}`);
  }
}

export const dec = {
  /** The index-th u32 cell. */
  u32(v: Uint8Array, index = 0): number {
    need(v, index * 4 + 4, `u32 #${index}`);
    return readBe32(v, index * 4);
  },
  /** The index-th u64 (index counts 8-byte values). */
  u64(v: Uint8Array, index = 0): bigint {
    need(v, index * 8 + 8, `u64 #${index}`);
    return (BigInt(readBe32(v, index * 8)) << 32n) | BigInt(readBe32(v, index * 8 + 4));
  },
  /** The first string (up to the first NUL, or the whole value if it has none). */
  str(v: Uint8Array): string {
    const nul = v.indexOf(0);
    return utf8Decoder.decode(nul < 0 ? v : v.subarray(0, nul));
  },
  /** Every NUL-terminated string; a missing final NUL still yields the last string. */
  strs(v: Uint8Array): string[] {
    const out: string[] = [];
    let start = 0;
    while (start < v.length) {
      let nul = v.indexOf(0, start);
      if (nul < 0) nul = v.length;
      out.push(utf8Decoder.decode(v.subarray(start, nul)));
      start = nul + 1;
    }
    return out;
  },
  /** Values of `cellsEach` cells each; the length must be a whole number of values. */
  cells(v: Uint8Array, cellsEach: number): bigint[] {
    checkCellsEach(cellsEach);
    if (cellsEach === 0) return [];
    const width = cellsEach * 4;
    if (v.length % width !== 0) {
      throw new DeviceTreeError(`value of ${v.length} bytes is not a whole number of ${cellsEach}-cell values`);
    }
    const out: bigint[] = [];
    for (let at = 0; at < v.length; at += width) {
      let x = 0n;
      for (let i = 0; i < cellsEach; i++) x = (x << 32n) | BigInt(readBe32(v, at + i * 4));
      out.push(x);
    }
    return out;
  },
};
