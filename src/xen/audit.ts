import type { DeviceTree } from '../devtree/tree';
import { domainHtab } from '../hpt/store';
import { dom0PagesForHtab } from '../hpt/size';
import { EXTENT_SIZE, INVALID_MFN, IO_HOLE_END_MFN, IO_HOLE_START_MFN, PAGE_SIZE } from '../machine/constants';
import { Machine } from '../machine/machine';
import type { MachineProfile } from '../machine/profile';
import { DEFAULT_OF_AT, placementCapacity } from '../rma/layout';
import { FitError } from '../util/errors';
import { alignDown, formatSize, GiB, hex, MiB } from '../util/size';
import type { Domain } from './domain';
import { constructDom0, Dom0Options } from './domain_build';
import { createDomU } from './domu_build';
import { FrameKind, HtabHcalls } from './hcalls/htab';
import { syntheticKernel } from './images';
import { constructDom0Legacy } from './legacy/domain_build';
import { LegacyKind, legacyReadRun, legacyView, LegacyView } from './legacy/pfn2mfn';
import { p2mOf } from './shadow_p2m';
import { System } from './system';

/** The two ways Xen can be handed frame numbers. */
export type Scheme = 'legacy' | 'proposal';
export const SCHEMES: readonly Scheme[] = ['legacy', 'proposal'];

/** What a number handed to Xen was meant to be. */
export type NumberClass = 'dom0-pfn' | 'domu-frame' | 'io-frame';
export const CLASSES: readonly NumberClass[] = ['dom0-pfn', 'domu-frame', 'io-frame'];

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
  schemes: Record<Scheme, SchemeAudit>;
}

const EXAMPLES = 3;

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
interface Built { sys: System; dom0: Domain; domus: Domain[]; skipped: number }

function dom0Options(m: AuditMachine, o: AuditOptions): Dom0Options {
  return {
    mem: o.dom0Mem,
    // The table covers the boot size only: room to balloon changes no number the audit reads, and costs time.
    maxMem: o.dom0Mem,
    rmaSize: o.rmaSize,
    placement: { kind: 'after-of' },
    ofAt: DEFAULT_OF_AT,
    kernel: syntheticKernel(6 * MiB),
    bootargs: 'console=hvc0',
    firmwareTree: m.firmwareTree,
  };
}

/** Build dom0 one way and then the domUs, all in memory. */
function build(m: AuditMachine, o: AuditOptions, scheme: Scheme): Built {
  const machine = Machine.boot({ ...m.profile });
  const opts = dom0Options(m, o);
  const record = { machineSource: m.profile.name, options: {}, report: undefined as never };
  let sys: System;
  let dom0: Domain;
  if (scheme === 'legacy') {
    const l = constructDom0Legacy(machine, opts);
    sys = new System(machine, m.firmwareTree, new Uint8Array(0), { ...record, report: l.report });
    sys.domains.set(0, l.dom0);
    l.install(sys);
    dom0 = l.dom0;
  } else {
    const p = constructDom0(machine, opts);
    sys = new System(machine, m.firmwareTree, new Uint8Array(0), { ...record, report: p.report });
    sys.domains.set(0, p.dom0);
    dom0 = p.dom0;
  }
  const domus: Domain[] = [];
  let skipped = 0;
  for (let i = 0; i < o.domus; i++) {
    try {
      domus.push(createDomU(sys, { mem: o.domuMem, kernel: syntheticKernel(4 * MiB) }).d);
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
      skipped++;
    }
  }
  return { sys, dom0, domus, skipped };
}

/** Every frame a domU owns, as runs (what dom0 may map of it). */
function domuFrameRuns(sys: System, d: Domain): { mfn: number; count: number }[] {
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
function auditLegacy(b: Built, keep: number): SchemeAudit {
  const t = new Tally('legacy', keep);
  const v: LegacyView = legacyView(b.sys.machine, b.dom0);
  const table = p2mOf(b.sys, b.dom0);

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
  return t.result();
}

/**
 * The proposal: dom0 translates its own pfns through the table in its RMA
 * and hands Xen machine frames; Xen's H_ENTER check (the hcall handlers'
 * `classify`) decides what each frame is. Runs are cut wherever the owner
 * changes, so one check stands for the whole run.
 */
function auditProposal(b: Built, keep: number): SchemeAudit {
  const t = new Tally('proposal', keep);
  const m = b.sys.machine;
  const hc = new HtabHcalls(m, (d) => domainHtab(b.sys, d));
  const kindText = (k: number): string => (k === FrameKind.Own ? 'its own frame' : k === FrameKind.Io ? 'an IO frame' : k === FrameKind.Foreign ? 'a foreign frame' : `refused (${k})`);
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
  for (const r of table.runs(0, b.dom0.totPages)) {
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
  return t.result();
}

/** The next frame after `mfn` where ownership or the IO hole could change, for unowned frames. */
function nextBoundary(m: Machine, mfn: number): number {
  const cuts = [m.frames.nextOwnedStart(mfn)];
  if (mfn < IO_HOLE_START_MFN) cuts.push(IO_HOLE_START_MFN);
  else if (mfn < IO_HOLE_END_MFN) cuts.push(IO_HOLE_END_MFN);
  return Math.min(...cuts);
}

/** Build the machine both ways and classify every number. */
export function runAudit(m: AuditMachine, o: AuditOptions): AuditResult {
  const largest = largestDom0(m, o);
  if (Math.ceil(o.dom0Mem / EXTENT_SIZE) * EXTENT_SIZE > largest) {
    throw new FitError(`a dom0 of ${formatSize(o.dom0Mem)} cannot be built both ways on ${m.profile.name} (${formatSize(m.profile.ram)} RAM): the largest is ${formatSize(largest)} (the proposal's table in a ${formatSize(o.rmaSize)} RMA, the domain heap, and a hash table from the Xen heap all have to fit)`, 'a smaller --mem, or another --machine / --ram');
  }
  const keep = o.examples ?? EXAMPLES;
  const legacy = build(m, o, 'legacy');
  const proposal = build(m, o, 'proposal');
  // Both builds take the same frames from the domain heap: the same machine.
  const l0 = legacy.dom0;
  const p0 = proposal.dom0;
  if (l0.rma.mfn !== p0.rma.mfn || l0.extents.join() !== p0.extents.join()) throw new Error('the legacy and proposal builds placed dom0 differently');
  const domus = proposal.domus.map((d) => {
    const runs = domuFrameRuns(proposal.sys, d);
    return { domid: d.domid, memBytes: d.totPages * PAGE_SIZE, frames: runs.reduce((n, r) => n + r.count, 0), firstMfn: runs[0]?.mfn ?? 0, lastMfn: runs.length ? runs[runs.length - 1].mfn + runs[runs.length - 1].count - 1 : 0 };
  });
  return {
    machine: m.profile.name,
    ramBytes: m.profile.ram,
    dom0: { memBytes: p0.totPages * PAGE_SIZE, pages: p0.totPages, rmaMaddr: p0.rma.mfn * PAGE_SIZE, extents: p0.extents.length },
    domus,
    domusSkipped: proposal.skipped,
    ioFrames: IO_HOLE_END_MFN - IO_HOLE_START_MFN,
    schemes: { legacy: auditLegacy(legacy, keep), proposal: auditProposal(proposal, keep) },
  };
}

/** The largest dom0 both schemes can build on this machine (whole extents; the proposal's table must fit). */
export function largestDom0(m: AuditMachine, o: Pick<AuditOptions, 'rmaSize'>): number {
  const cap = placementCapacity({ rmaSize: o.rmaSize, ofAt: DEFAULT_OF_AT, firmwareImage: m.profile.firmwareImage, devtreeSlot: m.profile.devtreeSlot, kernelSize: 6 * MiB, initrdSize: 0, placement: { kind: 'after-of' } });
  const byTable = alignDown(cap * PAGE_SIZE, EXTENT_SIZE);
  // What the domain heap can give after Xen's low memory and heap (an RMA and whole extents).
  const machine = Machine.boot({ ...m.profile });
  let extents = 0;
  machine.domHeap.free.forEach((list, order) => {
    if (order >= 12) extents += list.length * 2 ** (order - 12);
  });
  const byHeap = extents * EXTENT_SIZE - EXTENT_SIZE; // keep room for the RMA's alignment
  // The hash table (dom0HtabBytes) must come from one aligned Xen-heap block.
  const xenOrder = machine.xenHeap.largestFreeOrder();
  const byHtab = xenOrder < 0 ? 0 : alignDown(dom0PagesForHtab(2 ** xenOrder * PAGE_SIZE) * PAGE_SIZE, EXTENT_SIZE);
  return Math.max(o.rmaSize, Math.min(byTable, alignDown(byHeap, EXTENT_SIZE), byHtab));
}

/** Where one kind of misread first appears as dom0 grows, per scheme. */
export interface SweepStart {
  scheme: Scheme;
  kind: MisreadKind;
  /** The smallest dom0 size (whole extents) with a nonzero count, or null: never, up to the largest tried. */
  fromBytes: number | null;
  /** The count at that size. */
  count: number;
}

export interface SweepPoint { memBytes: number; legacy: Record<MisreadKind, number>; proposal: Record<MisreadKind, number> }

export interface SweepResult {
  machine: string;
  points: SweepPoint[];
  starts: SweepStart[];
  largestBytes: number;
  builds: number;
}

/**
 * Audit dom0 sizes from 1 GiB up to the largest that fits, a grid of whole
 * GiB, then narrow each kind's first appearance down to the extent by
 * bisection between the last clean grid size and the first dirty one.
 */
export function runSweep(m: AuditMachine, o: Omit<AuditOptions, 'dom0Mem'>, sizes?: number[]): SweepResult {
  const largest = largestDom0(m, o);
  const grid = sizes ?? gridSizes(largest, o.rmaSize);
  let builds = 0;
  const cache = new Map<number, SweepPoint | null>();
  /** The counts at one size, or null where the machine cannot build that dom0 (Xen heap, domain heap). */
  const tryAt = (mem: number): SweepPoint | null => {
    let p = cache.get(mem);
    if (p === undefined) {
      let r: AuditResult;
      try {
        r = runAudit(m, { ...o, dom0Mem: mem, examples: 0 });
      } catch (e) {
        if (!(e instanceof FitError)) throw e;
        cache.set(mem, null);
        return null;
      }
      builds++;
      const counts = (s: Scheme): Record<MisreadKind, number> => Object.fromEntries(KINDS.map((k) => [k, r.schemes[s].kinds[k].count])) as Record<MisreadKind, number>;
      p = { memBytes: mem, legacy: counts('legacy'), proposal: counts('proposal') };
      cache.set(mem, p);
    }
    return p;
  };
  const points = grid.map(tryAt).filter((p): p is SweepPoint => p !== null);
  const built = points.map((p) => p.memBytes);
  /** Inside the buildable range a bisection step that cannot build counts as clean (it is skipped). */
  const at = (mem: number): SweepPoint => tryAt(mem) ?? { memBytes: mem, legacy: zero(), proposal: zero() };
  const starts: SweepStart[] = [];
  for (const scheme of SCHEMES) {
    for (const kind of KINDS) {
      const first = points.findIndex((p) => p[scheme][kind] > 0);
      if (first < 0) {
        starts.push({ scheme, kind, fromBytes: null, count: 0 });
        continue;
      }
      let hi = built[first];
      let lo = first > 0 ? built[first - 1] : Math.max(o.rmaSize, EXTENT_SIZE) - EXTENT_SIZE;
      // Invariant: clean at lo (or below the smallest), dirty at hi.
      while (hi - lo > EXTENT_SIZE) {
        const mid = alignDown(lo + (hi - lo) / 2, EXTENT_SIZE);
        if (mid <= lo || mid < o.rmaSize) break;
        if (at(mid)[scheme][kind] > 0) hi = mid;
        else lo = mid;
      }
      starts.push({ scheme, kind, fromBytes: hi, count: at(hi)[scheme][kind] });
    }
  }
  return { machine: m.profile.name, points, starts, largestBytes: built.length ? built[built.length - 1] : largest, builds };
}

const zero = (): Record<MisreadKind, number> => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<MisreadKind, number>;

function gridSizes(largest: number, rmaSize: number): number[] {
  const out: number[] = [];
  for (let s = GiB; s < largest; s += GiB) if (s >= rmaSize) out.push(s);
  out.push(alignDown(largest, EXTENT_SIZE));
  return [...new Set(out)].sort((a, b) => a - b);
}

