import type { Paint } from './paint';
import type { OwnedRun, P2mInfo } from '../p2m/inspect';
import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { type Columns, DEFAULT_COLUMNS, renderFacts, renderTable } from './table';
import { formatSize, hex } from './units';
import { doc, range, span } from './contract';

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

/** A p2m table's place and fill: guest-physical range (null for a table Xen keeps), machine range, entries. */
export function p2mTableJson(i: P2mInfo, keeper: 'guest' | 'xen'): object {
  return {
    keeper,
    paddrs: keeper === 'guest' ? span(i.paddr, i.bytes) : null,
    maddrs: span(i.maddr, i.bytes),
    bytes: i.bytes,
    entries: i.entries,
    capacityEntries: i.capacityEntries,
    usedEntries: i.usedEntries,
    invalidEntries: i.invalidEntries,
    coversBytes: i.coversBytes,
  };
}

/** One run of consecutive pfns: mfns and maddrs null where the entries are INVALID_MFN. */
export function runJson(r: OwnedRun): object {
  const valid = r.mfn !== INVALID_MFN;
  return {
    pfns: span(r.pfn, r.count),
    paddrs: span(r.pfn * PAGE_SIZE, r.count * PAGE_SIZE),
    pages: r.count,
    bytes: r.count * PAGE_SIZE,
    mfns: valid ? span(r.mfn, r.count) : null,
    maddrs: valid ? span(r.mfn * PAGE_SIZE, r.count * PAGE_SIZE) : null,
    owner: r.owner,
    use: r.use,
  };
}

/** `inspect p2m` (runs): the table, the pfns shown, the runs. */
export function p2mRunsJson(domid: number, info: P2mInfo, keeper: 'guest' | 'xen', from: number, to: number, runs: OwnedRun[]): object {
  return doc('inspect-p2m', { domid, table: p2mTableJson(info, keeper), pfns: range(from, to), runs: runs.map(runJson) });
}

export interface PfnTranslation {
  domid: number;
  pfn: number;
  mfn: number;
  owner: string;
  use: string;
  keeper: 'guest' | 'xen';
  /** Where the entry sits: guest-physical (the guest's table) or machine (Xen's). */
  entryPaddr: number | null;
  entryMaddr: number;
}

/** inspect p2m with its pfn option: one translation. */
export function p2mPfnJson(t: PfnTranslation): object {
  const valid = t.mfn !== INVALID_MFN;
  return doc('inspect-p2m', {
    domid: t.domid,
    translation: {
      pfn: t.pfn,
      paddr: t.pfn * PAGE_SIZE,
      mfn: valid ? t.mfn : null,
      maddr: valid ? t.mfn * PAGE_SIZE : null,
      keeper: t.keeper,
      entryPaddr: t.entryPaddr,
      entryMaddr: t.entryMaddr,
      owner: t.owner,
      use: t.use,
    },
  });
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
