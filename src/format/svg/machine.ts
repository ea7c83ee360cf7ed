/**
 * inspect machine's svg picture: the machine's address space from 0 to the top of
 * RAM: RAM, the IO hole, Xen, the Xen heap, each domain's RMA and extents
 * (with the guest-physical range each backs) and the free blocks.
 */
import { MAX_ORDER, PAGE_SIZE } from '../../machine/constants';
import type { Machine } from '../../machine/machine';
import { ownedRuns } from '../../p2m/inspect';
import { p2mOf } from '../../xen/shadow_p2m';
import type { System } from '../../xen/system';
import { column, hex, labelWidth, rect, Segment, sizeText, svgDoc, text, barLayout } from './common';

const DOMAIN_FILL = ['#9fd18f', '#8fb3d9', '#f7c08a', '#d3b3cb', '#a9d6d2', '#f3e08c'];
const XEN_FILL = '#f2a3a4';
const XEN_HEAP_USED = '#f7c6c6';
const FREE_FILL = '#f4f4f4';

/** For each domain, its p2m as machine runs -> the pfns they back. */
function guestOf(sys: System): { domid: number; mfn: number; count: number; pfn: number }[] {
  const out: { domid: number; mfn: number; count: number; pfn: number }[] = [];
  for (const d of sys.domains.values()) {
    for (const r of ownedRuns(sys.machine, d, 0, p2mOf(d).entries, p2mOf(d))) {
      if (r.owner.startsWith('dom')) out.push({ domid: d.domid, mfn: r.mfn, count: r.count, pfn: r.pfn });
    }
  }
  return out;
}

/** Guest-physical span a machine range backs for a domain: lowest and highest pfn mapped into it. */
function guestSpan(runs: ReturnType<typeof guestOf>, domid: number, a: number, b: number): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of runs) {
    if (r.domid !== domid) continue;
    const s = Math.max(a, r.mfn);
    const e = Math.min(b, r.mfn + r.count);
    if (s >= e) continue;
    lo = Math.min(lo, r.pfn + (s - r.mfn));
    hi = Math.max(hi, r.pfn + (e - r.mfn));
  }
  return lo === Infinity ? '' : `guest ${hex(lo * PAGE_SIZE)}..${hex(hi * PAGE_SIZE)}`;
}

/** Free blocks of a heap inside [a, b): how many and the largest order. */
function freeBlocks(lists: number[][], a: number, b: number): { n: number; largest: number } {
  let n = 0;
  let largest = -1;
  for (let o = 0; o <= MAX_ORDER; o++) {
    for (const mfn of lists[o]) {
      if (mfn >= a && mfn < b) {
        n++;
        largest = Math.max(largest, o);
      }
    }
  }
  return { n, largest };
}

export function machineSegments(sys: System): Segment[] {
  const m: Machine = sys.machine;
  const runs = guestOf(sys);
  const xenFree = m.xenHeap.free;
  const domFree = m.domHeap.free;
  const inXenHeap = (mfn: number): boolean => m.xenHeapRanges.some((r) => mfn >= r.mfn && mfn < r.mfn + r.count);
  const segs: Segment[] = [];
  const push = (a: number, b: number, name: string, detail: string, fill: string, hatch = false): void => {
    const last = segs[segs.length - 1];
    // Neighbouring pieces with one label are one box (a domain's consecutive extents).
    if (last && last.name === name && last.end === a * PAGE_SIZE && !hatch) {
      last.end = b * PAGE_SIZE;
      last.detail = detailFor(last.start / PAGE_SIZE, b);
      return;
    }
    segs.push({ start: a * PAGE_SIZE, end: b * PAGE_SIZE, name, detail, fill, hatch });
  };
  let detailFor: (a: number, b: number) => string = () => '';
  const owned = [...m.frames.all()].sort((x, y) => x.mfn - y.mfn);
  let prevEnd = 0;
  for (const ram of m.ram) {
    if (ram.mfn > prevEnd) {
      detailFor = (a, b) => `${sizeText((b - a) * PAGE_SIZE)} of MMIO, no RAM`;
      push(prevEnd, ram.mfn, 'IO hole', detailFor(prevEnd, ram.mfn), '#e6e6e6', true);
    }
    const end = ram.mfn + ram.count;
    let at = ram.mfn;
    const free = (a: number, b: number): void => {
      if (a >= b) return;
      // Split at the Xen heap's edges: its free pages are Xen's, not the domain heap's.
      for (const r of m.xenHeapRanges) {
        const s = Math.max(a, r.mfn);
        const e = Math.min(b, r.mfn + r.count);
        if (s < e && (s > a || e < b)) {
          free(a, s);
          free(s, e);
          free(e, b);
          return;
        }
      }
      const xen = inXenHeap(a);
      detailFor = (x, y) => {
        const f = freeBlocks(xen ? xenFree : domFree, x, y);
        return `${sizeText((y - x) * PAGE_SIZE)}, ${f.n} block${f.n === 1 ? '' : 's'}${f.largest >= 0 ? `, largest ${sizeText(2 ** f.largest * PAGE_SIZE)}` : ''}`;
      };
      push(a, b, xen ? 'Xen heap: free' : 'domain heap: free', detailFor(a, b), FREE_FILL);
    };
    for (const r of owned) {
      if (r.mfn + r.count <= ram.mfn || r.mfn >= end) continue;
      free(at, r.mfn);
      const a = r.mfn;
      const b = r.mfn + r.count;
      if (r.owner === 'xen') {
        const heap = inXenHeap(a);
        const name = heap ? `Xen heap: ${r.use}` : 'Xen';
        detailFor = (x, y) => sizeText((y - x) * PAGE_SIZE) + (heap ? '' : ' (Xen and its low memory)');
        push(a, b, name, detailFor(a, b), heap ? XEN_HEAP_USED : XEN_FILL);
      } else {
        const domid = r.owner;
        const name = `dom${domid} ${r.use === 'rma' ? 'RMA' : r.use === 'extent' ? 'extents' : r.use}`;
        detailFor = (x, y) => [sizeText((y - x) * PAGE_SIZE), guestSpan(runs, domid, x, y)].filter(Boolean).join(' · ');
        push(a, b, name, detailFor(a, b), DOMAIN_FILL[domid % DOMAIN_FILL.length]);
      }
      at = b;
    }
    free(at, end);
    prevEnd = end;
  }
  return segs;
}

export function machineSvg(sys: System): string {
  const m = sys.machine;
  const segs = machineSegments(sys);
  const barX = 170;
  const barW = 150;
  const { top, placed, bottom, labelX } = barLayout(segs, barX, barW, 640, 38);
  const body = [
    text(20, 26, `${m.profile.name}: ${sizeText(m.profile.ram)} RAM, machine addresses 0..${hex(segs[segs.length - 1].end)}`, { size: 15, weight: 'bold' }),
    text(20, 44, 'boxes to scale with a floor; each domain box says which guest-physical range it backs', { size: 11, fill: '#555555' }),
    ...column(placed, { x: barX, width: barW, labelX, titleY: top - 16, addressColumns: [{ x: barX - 12, title: 'machine', at: (a) => hex(a) }] }),
  ];
  // The Xen heap as a bracket beside the bar.
  for (const r of m.xenHeapRanges) {
    const inside = placed.filter((p) => p.start >= r.mfn * PAGE_SIZE && p.end <= (r.mfn + r.count) * PAGE_SIZE);
    if (!inside.length) continue;
    const y0 = inside[0].y0;
    const y1 = inside[inside.length - 1].y1;
    body.push(rect(barX + barW + 3, y0 + 1, 4, y1 - y0 - 2, '#c0392b'));
  }
  return svgDoc(Math.max(labelX + labelWidth(segs) + 24, 760), bottom + 30, `${m.profile.name} machine memory`, body);
}
