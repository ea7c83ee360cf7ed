import { UsageError } from './errors';
import { quote } from './quote';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

const UNITS: Record<string, number> = { '': 1, B: 1, K: KiB, M: MiB, G: GiB, T: TiB };

/**
 * Parse a size as the command line takes it: `4G`, `4GiB`, `512M`, `64MiB`, `16K`, hex
 * `0x4000000`, plain bytes. Units are binary. Anything else is a usage error
 * naming the option it came from.
 */
export function parseSize(text: string, what = 'size'): number {
  // Strict: no surrounding space, sign or fraction (a value is exactly what was typed).
  const s = String(text);
  let bytes: number;
  const hex = /^0x([0-9a-f]+)$/i.exec(s);
  if (hex) {
    bytes = parseInt(hex[1], 16);
  } else {
    const m = /^(\d+)(?:([KMGT])(?:iB|B)?|B)?$/i.exec(s);
    if (!m) {
      throw new UsageError(`${what}: ${quote(text)} is not a size`, ['size-syntax']);
    }
    bytes = Number(m[1]) * UNITS[(m[2] ?? '').toUpperCase()];
  }
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${what}: ${quote(text)} is too large`);
  return bytes;
}

/** Like parseSize, but zero is refused. */
export function parsePositiveSize(text: string, what: string): number {
  const v = parseSize(text, what);
  if (v === 0) throw new UsageError(`${what}: ${quote(text)} is zero`, ['nonzero-size']);
  return v;
}

/** Human size with binary units, exact when it can be: 32 GiB, 32 GiB - 16 MiB, 31.86 GiB, 4100 B. */
export function formatSize(bytes: number): string {
  if (bytes < 0) return `-${formatSize(-bytes)}`;
  const units = [['TiB', TiB], ['GiB', GiB], ['MiB', MiB], ['KiB', KiB]] as const;
  const i = units.findIndex(([, mult]) => bytes >= mult);
  if (i < 0) return `${bytes} B`;
  const [unit, mult] = units[i];
  if (bytes % mult === 0) return `${bytes / mult} ${unit}`;
  // Just under a round figure: say how far under, the way the limit math is told.
  for (const [u, m] of units.slice(Math.max(0, i - 1), i + 1)) {
    const up = Math.ceil(bytes / m) * m;
    const gap = up - bytes;
    if (gap * 64 <= m && gap % KiB === 0) return `${up / m} ${u} - ${formatSize(gap)}`;
  }
  return `${+(bytes / mult).toFixed(2)} ${unit}`;
}

export function hex(n: number | bigint, width = 0): string {
  return '0x' + n.toString(16).padStart(width, '0');
}

export function alignUp(v: number, a: number): number {
  return Math.ceil(v / a) * a;
}

export function alignDown(v: number, a: number): number {
  return Math.floor(v / a) * a;
}

export function isPowerOfTwo(v: number): boolean {
  return v > 0 && Number.isInteger(Math.log2(v)) && 2 ** Math.log2(v) === v;
}

/**
 * Like formatSize, but never rounded: 16 GiB + 48 MiB, 32 GiB - 16 MiB,
 * 15 GiB + 480 MiB. Falls back to formatSize's form when that is exact.
 */
export function exactSize(bytes: number): string {
  const s = formatSize(bytes);
  if (!s.includes('.')) return s;
  const units = [['TiB', TiB], ['GiB', GiB], ['MiB', MiB], ['KiB', KiB]] as const;
  const [unit, mult] = units.find(([, m]) => bytes >= m)!;
  const whole = Math.floor(bytes / mult);
  const rest = bytes - whole * mult;
  return rest === 0 ? `${whole} ${unit}` : `${whole} ${unit} + ${exactSize(rest)}`;
}

/**
 * A memory size (a domain's or a machine's): as parsePositiveSize, but a bare
 * decimal number below 1 MiB is refused, since it would be bytes: `4096`
 * would make a 4096-byte request (and a 64 MiB dom0), when 4096 MiB is
 * meant. Hex (0x1000) and any unit (4096B, 4K) say what they mean and pass.
 */
export function parseMemorySize(text: string, what: string): number {
  const v = parsePositiveSize(text, what);
  if (/^\d+$/.test(String(text).trim()) && v < MiB) {
    throw new UsageError(`${what}: '${text}' is ${v} bytes, less than 1 MiB`, `${v} bytes? write ${v}M${v % 1024 === 0 ? ` or ${v / 1024}G` : ''}`);
  }
  return v;
}
