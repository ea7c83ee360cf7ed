import type { Paint } from './paint';
import type { OwnedRun, P2mInfo } from '../p2m/inspect';
import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { type Columns, DEFAULT_COLUMNS, renderFacts, renderTable } from './table';
import { formatSize, hex } from './units';

export function formatP2mInfo(p: Paint, i: P2mInfo, cols: Columns = DEFAULT_COLUMNS): string {
  return `dom${i.domid} p2m table\n` + renderFacts(p, [
    ['guest-physical', `${hex(i.paddr)}..${hex(i.paddr + i.bytes - 1)}`],
    ['machine', `${hex(i.maddr)}..${hex(i.maddr + i.bytes - 1)}`],
    ['size', `${formatSize(i.bytes)} (${i.entries} entries x 4 bytes)`],
    ['covers', formatSize(i.coversBytes)],
    ['capacity', `${i.capacityEntries} entries (${formatSize(i.capacityEntries * PAGE_SIZE)}) where it is placed`],
    ['used', `${i.usedEntries} entries (${formatSize(i.usedEntries * PAGE_SIZE)}), ${i.invalidEntries} invalid`],
  ], cols);
}

export function formatRuns(p: Paint, runs: OwnedRun[], cols: Columns = DEFAULT_COLUMNS): string {
  return renderTable(p, ['pfns', 'mfns', 'pages', 'size', 'owner', 'use'], runs.map((r) => [
    `${hex(r.pfn)}..${hex(r.pfn + r.count - 1)}`,
    r.mfn === INVALID_MFN ? p.dim('INVALID_MFN') : `${hex(r.mfn)}..${hex(r.mfn + r.count - 1)}`,
    r.count,
    formatSize(r.count * PAGE_SIZE),
    r.owner,
    r.use,
  ]), ['left', 'left', 'right', 'right', 'left', 'left'], cols);
}

export function runJson(r: OwnedRun): object {
  return { pfn: r.pfn, count: r.count, mfn: r.mfn === INVALID_MFN ? null : r.mfn, maddr: r.mfn === INVALID_MFN ? null : r.mfn * PAGE_SIZE, owner: r.owner, use: r.use };
}

/** `xxd`-style dump of the raw table, for a terminal. */
export function hexDump(bytes: Uint8Array, base: number): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 16) {
    const row = bytes.subarray(i, i + 16);
    const words: string[] = [];
    for (let j = 0; j < row.length; j += 4) words.push(Array.from(row.subarray(j, j + 4), (b) => b.toString(16).padStart(2, '0')).join(''));
    out += `${(base + i).toString(16).padStart(8, '0')}: ${words.join(' ')}\n`;
  }
  return out;
}
