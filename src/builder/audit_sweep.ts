import { EXTENT_SIZE } from '../machine/constants';
import { FitError } from '../util/errors';
import { alignDown, GiB } from '../util/size';
import { AuditMachine, AuditOptions, AuditResult, KINDS, MisreadKind, Scheme, SCHEMES } from '../xen/audit';
import { auditLimits, largestDom0, runAudit } from './audit';

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
  // The same for every size tried: once, not per build.
  const limits = auditLimits(m, o);
  const largest = largestDom0(m, o, limits);
  const grid = sizes ?? gridSizes(largest, o.rmaSize);
  let builds = 0;
  const cache = new Map<number, SweepPoint | null>();
  /** The counts at one size, or null where the machine cannot build that dom0 (Xen heap, domain heap). */
  const tryAt = (mem: number): SweepPoint | null => {
    let p = cache.get(mem);
    if (p === undefined) {
      let r: AuditResult;
      try {
        r = runAudit(m, { ...o, dom0Mem: mem, examples: 0 }, limits);
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

