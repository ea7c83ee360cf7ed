import type { DeviceTree } from '../devtree/tree';
import { INVALID_MFN, IO_HOLE_END_MFN, IO_HOLE_START_MFN, PAGE_SIZE } from '../machine/constants';
import type { Machine } from '../machine/machine';
import type { MachineProfile } from '../machine/profile';
import { hex } from '../util/size';
import type { Domain } from './domain';
import { FrameKind, HptHcalls } from './hcalls/hpt';
import { LegacyKind, legacyReadRun, legacyView, LegacyView } from './legacy/pfn2mfn';
import { p2mOf } from './shadow_p2m';
import { ramRuns } from './physmap';
import type { System } from './system';

/** The two ways Xen can be handed frame numbers. */
export type Scheme = 'legacy' | 'proposal';
export const SCHEMES: readonly Scheme[] = ['legacy', 'proposal'];

/** What a number handed to Xen was meant to be. */
export type NumberClass = 'dom0-pfn' | 'domu-frame' | 'io-frame' | 'grant-frame';
export const CLASSES: readonly NumberClass[] = ['dom0-pfn', 'domu-frame', 'io-frame', 'grant-frame'];

/** How a number was misread. */
export type MisreadKind =
  /** a dom0 pfn in [2 GiB, 4 GiB) taken as the MMIO frame of that number */
  | 'pfn-as-io'
  /** a dom0 pfn that reaches the raw-mfn hack: taken as another domain's machine frame (or Xen panics) */
  | 'pfn-as-foreign-mfn'
  /** a dom0 pfn with bit 22 set (16 GiB and up) read through the foreign-map slots */
  | 'pfn-foreign-bit'
  /** a domU frame at a machine address with bit 22 set (16 GiB and up) read through the foreign-map slots */
  | 'mfn-foreign-bit'
  /** a domU's machine frame that dom0 asked to map, taken as dom0's own pfn of that number */
  | 'mfn-as-dom0-pfn'
  /** taken as a grant-table frame (just above the end of RAM) */
  | 'grant'
  /** an IO frame read as anything but itself */
  | 'io-as-other'
  /** refused or fatal where it should have mapped */
  | 'refused';
export const KINDS: readonly MisreadKind[] = ['pfn-as-io', 'pfn-as-foreign-mfn', 'pfn-foreign-bit', 'mfn-foreign-bit', 'mfn-as-dom0-pfn', 'grant', 'io-as-other', 'refused'];

export const KIND_TEXT: Record<MisreadKind, string> = {
  'pfn-as-io': 'dom0 pfn read as IO',
  'pfn-as-foreign-mfn': 'dom0 pfn read as a foreign raw mfn',
  'pfn-foreign-bit': 'foreign-bit collision: dom0 pfn from 16 GiB up',
  'mfn-foreign-bit': 'foreign-bit collision: domU frame at 16 GiB up',
  'mfn-as-dom0-pfn': 'foreign raw mfn read as a dom0 pfn',
  grant: 'read as a grant-table frame',
  'io-as-other': 'IO frame read as something else',
  refused: 'refused or fatal to Xen',
};

/** One misread number, for the report. */
export interface Example {
  number: number;
  cls: NumberClass;
  /** What it was meant to be. */
  meant: string;
  /** What Xen took it for. */
  readAs: string;
  /** How many consecutive numbers this example stands for. */
  run: number;
}

export interface ClassCount { total: number; correct: number; misread: number }

export interface SchemeAudit {
  scheme: Scheme;
  classes: Record<NumberClass, ClassCount>;
  kinds: Record<MisreadKind, { count: number; examples: Example[] }>;
  misread: number;
  /** Runs examined (the cost: boundaries, not numbers). */
  runs: number;
}

export interface AuditMachine {
  profile: MachineProfile;
  firmwareTree: DeviceTree;
}

export interface AuditOptions {
  dom0Mem: number;
  domus: number;
  domuMem: number;
  rmaSize: number;
  /** Examples kept per kind. */
  examples?: number;
}

export interface AuditResult {
  machine: string;
  ramBytes: number;
  dom0: { memBytes: number; pages: number; rmaMaddr: number; extents: number };
  domus: { domid: number; memBytes: number; frames: number; firstMfn: number; lastMfn: number }[];
  /** domUs asked for but not built (the heap ran out). */
  domusSkipped: number;
  ioFrames: number;
  /** Grant-table frames of dom0 and the domUs (INITIAL_NR_GRANT_FRAMES each). */
  grantFrames: number;
  schemes: Record<Scheme, SchemeAudit>;
}

/** Examples kept per kind unless asked otherwise. */
export const EXAMPLES = 3;

class Tally {
  readonly classes = Object.fromEntries(CLASSES.map((c) => [c, { total: 0, correct: 0, misread: 0 }])) as Record<NumberClass, ClassCount>;
  readonly kinds = Object.fromEntries(KINDS.map((k) => [k, { count: 0, examples: [] as Example[] }])) as Record<MisreadKind, { count: number; examples: Example[] }>;
  runs = 0;
  constructor(readonly scheme: Scheme, readonly keep: number) {}

  ok(cls: NumberClass, count: number): void {
    this.runs++;
    this.classes[cls].total += count;
    this.classes[cls].correct += count;
  }

  bad(cls: NumberClass, kind: MisreadKind, count: number, ex: Omit<Example, 'cls' | 'run'>): void {
    this.runs++;
    this.classes[cls].total += count;
    this.classes[cls].misread += count;
    const k = this.kinds[kind];
    k.count += count;
    if (k.examples.length < this.keep) k.examples.push({ ...ex, cls, run: count });
  }

  result(): SchemeAudit {
    return { scheme: this.scheme, classes: this.classes, kinds: this.kinds, misread: KINDS.reduce((n, k) => n + this.kinds[k].count, 0), runs: this.runs };
  }
}

/** A built machine for one scheme: dom0 and the domUs beside it. */
export interface Built { sys: System; dom0: Domain; domus: Domain[]; skipped: number }



/** Every frame a domU owns, as runs (what dom0 may map of it). */
export function domuFrameRuns(sys: System, d: Domain): { mfn: number; count: number }[] {
  return sys.machine.frames.all().filter((r) => r.owner === d.domid).map((r) => ({ mfn: r.mfn, count: r.count }));
}

const legacyReadText = (r: { kind: LegacyKind; mfn: number; fatal?: string }, n: number): string => {
  const at = r.mfn === INVALID_MFN ? 'INVALID_MFN' : `mfn ${hex(r.mfn)}`;
  const tail = r.fatal ? ` (${r.fatal})` : '';
  switch (r.kind) {
    case 'foreign-slot': return `foreign-map slot ${n - 2 ** 22} -> ${at}${tail}`;
    case 'grant': return `grant-table frame ${n} -> ${at}`;
    case 'io': return `IO frame ${hex(n)} (MMIO at ${hex(n * PAGE_SIZE)})`;
    case 'rma': return `dom0 RMA pfn ${hex(n)} -> ${at}`;
    case 'extent': return `dom0 extent pfn ${hex(n)} -> ${at}`;
    case 'raw-mfn': return `another domain's raw mfn ${hex(n)}${tail}`;
    case 'invalid': return 'nothing: INVALID_MFN (H_PARAMETER)';
  }
};

/** The legacy scheme: every number goes through the historical pfn2mfn for dom0. */
export function auditLegacy(b: Built, keep: number): SchemeAudit {
  const t = new Tally('legacy', keep);
  const v: LegacyView = legacyView(b.sys.machine, b.dom0);
  const table = p2mOf(b.dom0);

  // dom0's own pfns: meant to be dom0's frames (Xen's table for it).
  for (let n = 0; n < b.dom0.totPages;) {
    const r = legacyReadRun(v, n, b.dom0.totPages - n);
    const meant = `dom0 pfn ${hex(n)} (its frame mfn ${hex(table.get(n))})`;
    if ((r.kind === 'rma' || r.kind === 'extent') && r.mfn === table.get(n)) t.ok('dom0-pfn', r.count);
    else if (r.kind === 'io') t.bad('dom0-pfn', 'pfn-as-io', r.count, { number: n, meant, readAs: legacyReadText(r, n) });
    else if (r.kind === 'foreign-slot') t.bad('dom0-pfn', 'pfn-foreign-bit', r.count, { number: n, meant, readAs: legacyReadText(r, n) });
    else if (r.kind === 'raw-mfn') t.bad('dom0-pfn', 'pfn-as-foreign-mfn', r.count, { number: n, meant, readAs: legacyReadText(r, n) });
    else if (r.kind === 'grant') t.bad('dom0-pfn', 'grant', r.count, { number: n, meant, readAs: legacyReadText(r, n) });
    else t.bad('dom0-pfn', 'refused', r.count, { number: n, meant, readAs: legacyReadText(r, n) });
    n += r.count;
  }

  // domU frames dom0 maps by their machine number (the raw-mfn path is how it must reach them).
  for (const d of b.domus) {
    for (const run of domuFrameRuns(b.sys, d)) {
      for (let n = run.mfn, end = run.mfn + run.count; n < end;) {
        const r = legacyReadRun(v, n, end - n);
        const meant = `dom${d.domid}'s frame mfn ${hex(n)}`;
        const ex = { number: n, meant, readAs: legacyReadText(r, n) };
        if (r.kind === 'raw-mfn' && !r.fatal) t.ok('domu-frame', r.count);
        else if (r.kind === 'rma' || r.kind === 'extent') t.bad('domu-frame', 'mfn-as-dom0-pfn', r.count, ex);
        else if (r.kind === 'foreign-slot') t.bad('domu-frame', 'mfn-foreign-bit', r.count, ex);
        else if (r.kind === 'grant') t.bad('domu-frame', 'grant', r.count, ex);
        else t.bad('domu-frame', 'refused', r.count, ex);
        n += r.count;
      }
    }
  }

  // IO frames: meant as themselves.
  for (let n = IO_HOLE_START_MFN; n < IO_HOLE_END_MFN;) {
    const r = legacyReadRun(v, n, IO_HOLE_END_MFN - n);
    if (r.kind === 'io') t.ok('io-frame', r.count);
    else t.bad('io-frame', 'io-as-other', r.count, { number: n, meant: `IO frame ${hex(n)}`, readAs: legacyReadText(r, n) });
    n += r.count;
  }

  // Grant-table frames as dom0 names them: its own by gmfn max_page + i
  // (gnttab_shared_gmfn, grant_table.h:51-52; mm.c:510-514 @ 1aa3c54a31^), read
  // back by pfn2mfn's grant branch (mm.c:434-443); a domU's by machine frame,
  // the raw-mfn hack (mm.c:466-482), the frame being the domU's
  // (share_xen_page_with_guest, mm.c:104).
  b.dom0.grantFrames.forEach((mfn, i) => {
    const n = v.maxPage + i;
    const r = legacyReadRun(v, n, 1);
    const ex = { number: n, meant: `dom0's grant-table frame ${i} (gmfn ${hex(n)}, mfn ${hex(mfn)})`, readAs: legacyReadText(r, n) };
    if (r.kind === 'grant' && r.mfn === mfn) t.ok('grant-frame', 1);
    else t.bad('grant-frame', r.kind === 'foreign-slot' ? 'pfn-foreign-bit' : r.kind === 'io' ? 'pfn-as-io' : 'refused', 1, ex);
  });
  for (const d of b.domus) {
    d.grantFrames.forEach((mfn, i) => {
      const r = legacyReadRun(v, mfn, 1);
      const ex = { number: mfn, meant: `dom${d.domid}'s grant-table frame ${i} (mfn ${hex(mfn)})`, readAs: legacyReadText(r, mfn) };
      if (r.kind === 'raw-mfn' && !r.fatal) t.ok('grant-frame', 1);
      else t.bad('grant-frame', r.kind === 'rma' || r.kind === 'extent' ? 'mfn-as-dom0-pfn' : r.kind === 'foreign-slot' ? 'mfn-foreign-bit' : r.kind === 'grant' ? 'grant' : 'refused', 1, ex);
    });
  }
  return t.result();
}

/**
 * The proposal: dom0 translates its own pfns through the table in its RMA
 * and hands Xen machine frames; Xen's H_ENTER check (the hcall handlers'
 * `classify`) decides what each frame is. Runs are cut wherever the owner
 * changes, so one check stands for the whole run.
 */
export function auditProposal(b: Built, keep: number): SchemeAudit {
  const t = new Tally('proposal', keep);
  const m = b.sys.machine;
  const hc = new HptHcalls(m, (d) => d.hpt);
  const kindText = (k: number): string => (k === FrameKind.Own ? 'its own frame' : k === FrameKind.Io ? 'an IO frame' : k === FrameKind.Foreign ? 'a foreign frame' : k === FrameKind.Grant ? 'a grant-table frame' : `refused (${k})`);
  /** Split [mfn, mfn+count) where ownership changes and call fn for each piece. */
  const pieces = (mfn: number, count: number, fn: (mfn: number, n: number) => void): void => {
    for (let at = mfn, end = mfn + count; at < end;) {
      const own = m.frames.lookup(at);
      const n = own ? Math.min(end, own.mfn + own.count) - at : Math.min(end, nextBoundary(m, at)) - at;
      fn(at, n);
      at += n;
    }
  };

  const table = b.dom0.p2m();
  // dom0's RAM pfns: below the IO hole of its map, then past it (the hole's entries are not RAM).
  for (const r of ramRuns(b.dom0.ioHole, 0, b.dom0.totPages).flatMap((x) => table.runs(x.pfn, x.pfn + x.count))) {
    if (r.mfn === INVALID_MFN) {
      t.bad('dom0-pfn', 'refused', r.count, { number: r.pfn, meant: `dom0 pfn ${hex(r.pfn)}`, readAs: 'no frame in its own table' });
      continue;
    }
    pieces(r.mfn, r.count, (mfn, n) => {
      const k = hc.classify(b.dom0, mfn, 1);
      if (k === FrameKind.Own) t.ok('dom0-pfn', n);
      else t.bad('dom0-pfn', k === FrameKind.Io ? 'pfn-as-io' : k === FrameKind.Foreign ? 'pfn-as-foreign-mfn' : 'refused', n, { number: mfn, meant: `dom0 pfn ${hex(r.pfn + (mfn - r.mfn))} as mfn ${hex(mfn)}`, readAs: kindText(k) });
    });
  }
  for (const d of b.domus) {
    for (const run of domuFrameRuns(b.sys, d)) {
      pieces(run.mfn, run.count, (mfn, n) => {
        const k = hc.classify(b.dom0, mfn, 1);
        if (k === FrameKind.Foreign && m.frames.ownerOf(mfn) === d.domid) t.ok('domu-frame', n);
        else t.bad('domu-frame', k === FrameKind.Own ? 'mfn-as-dom0-pfn' : 'refused', n, { number: mfn, meant: `dom${d.domid}'s frame mfn ${hex(mfn)}`, readAs: kindText(k) });
      });
    }
  }
  pieces(IO_HOLE_START_MFN, IO_HOLE_END_MFN - IO_HOLE_START_MFN, (mfn, n) => {
    const k = hc.classify(b.dom0, mfn, 1);
    if (k === FrameKind.Io) t.ok('io-frame', n);
    else t.bad('io-frame', 'io-as-other', n, { number: mfn, meant: `IO frame ${hex(mfn)}`, readAs: kindText(k) });
  });
  // Grant-table frames by machine frame: H_ENTER's classify knows a Xen-owned
  // `grant domN` page (dom0 may map any domain's: xlate.c:197-202, 214-219 @ 1aa3c54a31^).
  for (const d of [b.dom0, ...b.domus]) {
    d.grantFrames.forEach((mfn, i) => {
      const k = hc.classify(b.dom0, mfn, 1);
      if (k === FrameKind.Grant) t.ok('grant-frame', 1);
      else t.bad('grant-frame', k === FrameKind.Own ? 'mfn-as-dom0-pfn' : k === FrameKind.Io ? 'pfn-as-io' : 'refused', 1, { number: mfn, meant: `dom${d.domid}'s grant-table frame ${i} (mfn ${hex(mfn)})`, readAs: kindText(k) });
    });
  }
  return t.result();
}

/** The next frame after `mfn` where ownership or the IO hole could change, for unowned frames. */
function nextBoundary(m: Machine, mfn: number): number {
  const cuts = [m.frames.nextOwnedStart(mfn)];
  if (mfn < IO_HOLE_START_MFN) cuts.push(IO_HOLE_START_MFN);
  else if (mfn < IO_HOLE_END_MFN) cuts.push(IO_HOLE_END_MFN);
  return Math.min(...cuts);
}



