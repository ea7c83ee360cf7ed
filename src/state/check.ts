/**
 * A decoded state checked whole before any command trusts it, the way
 * libfdt's fdt_check_full checks a blob before fdt_ro reads it: a state file
 * whose JSON was edited and its seal recomputed must be refused (exit 3),
 * never crash a command halfway (exit 70) or be written back. checkSystem
 * returns the first broken rule in words; the rules, in order:
 *
 *  1. shape: every field a command reads has its type; numbers are safe
 *     integers in range (frames below the machine's RAM end);
 *  2. domains: each Map key is its Domain's own domid, dom0 is there (and
 *     privileged), a domU is a shadow domain with its domU record;
 *  3. frames: owned runs are non-empty, inside RAM (never across or in the
 *     IO hole), disjoint, owned by Xen or a domain that exists; free heap
 *     blocks are aligned, inside RAM and their heap, disjoint from each
 *     other and from owned runs; free + owned = RAM pages;
 *  4. each domain: its RMA a PPC970 size, aligned, wholly its own; its
 *     extents aligned 16 MiB blocks it owns, no more than its pages need;
 *     rma pages <= tot_pages <= max_pages; the frames it owns number
 *     tot_pages (RMA + extents + ballooned-in pages);
 *  5. tables: a guest-kept p2m table inside the RMA, clear of shared_info,
 *     at arch.p2m; a Xen-kept one in a Xen-heap block Xen owns, big enough;
 *     every entry below tot_pages a frame the domain owns, none twice; every
 *     entry past it INVALID_MFN (so every owned frame is mapped exactly once);
 *     the hash table a Xen-heap block Xen owns; the RMA layout's regions
 *     inside the RMA;
 *  6. page references and foreign mappings: frames below RAM's end, the
 *     domains named exist, each mapping's frame is the mapped domain's.
 *
 * Pure: reads the System, changes nothing.
 */
import { fdtProblem } from '../devtree/fdt_check';
import { EXTENT_PAGES, INVALID_MFN, MAX_ORDER, PAGE_SIZE } from '../machine/constants';
import { RMA_SIZES } from '../machine/cpu';
import type { Machine } from '../machine/machine';
import { DOMID_FIRST_RESERVED, type Domain } from '../xen/domain';
import { p2mOf } from '../xen/shadow_p2m';
import type { System } from '../xen/system';
import { hex } from '../util/size';


class Broken extends Error {}


function fail(text: string): never {
  throw new Broken(text);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A safe integer in [min, max]. */
function int(v: unknown, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(`${what} is ${typeof v === 'number' ? String(v) : JSON.stringify(v) ?? typeof v}, not an integer in [${min}, ${max}]`);
  }
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') fail(`${what} is not a string`);
  return v;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (!isObject(v)) fail(`${what} is not an object`);
  return v;
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) fail(`${what} is not a list`);
  return v;
}

function region(v: unknown, what: string, limit: number): { start: number; end: number } {
  const r = obj(v, what);
  const start = int(r.start, `${what}.start`, 0, limit);
  const end = int(r.end, `${what}.end`, start, limit);
  return { start, end };
}

interface Ram { end: number; m: Machine }

function ownerName(o: number | 'xen'): string {
  return o === 'xen' ? 'Xen' : `dom${o}`;
}

/** Rule 3: owned runs and free blocks. Returns frames owned per owner. */
function checkFrames(sys: System, ram: Ram): Map<number | 'xen', number> {
  const m = ram.m;
  const endMfn = ram.end / PAGE_SIZE;
  const owned = new Map<number | 'xen', number>();
  const runs = arr(m.frames.all(), 'the frame table');
  let prevEnd = 0;
  let total = 0;
  for (const [i, r0] of runs.entries()) {
    const r = obj(r0, `owned run ${i}`);
    const mfn = int(r.mfn, `owned run ${i}'s mfn`, 0, endMfn - 1);
    const count = int(r.count, `owned run ${hex(mfn)}'s count`, 1, endMfn - mfn);
    const owner = r.owner;
    if (owner !== 'xen') int(owner, `owned run ${hex(mfn)}'s owner`, 0, DOMID_FIRST_RESERVED - 1);
    str(r.use, `owned run ${hex(mfn)}'s use`);
    const who = owner as number | 'xen';
    if (who !== 'xen' && !sys.domains.has(who)) fail(`frames ${hex(mfn)}+${count} are owned by dom${who}, which does not exist`);
    if (mfn < prevEnd) fail(`owned run ${hex(mfn)}+${count} overlaps the run before it`);
    if (!m.isRam(mfn) || !m.isRam(mfn + count - 1) || m.isIo(mfn) || m.isIo(mfn + count - 1) || (mfn < m.ram[m.ram.length - 1]!.mfn && mfn + count > m.ram[0]!.mfn + m.ram[0]!.count)) {
      fail(`frames ${hex(mfn)}+${count} owned by ${ownerName(who)} are not all RAM`);
    }
    prevEnd = mfn + count;
    total += count;
    owned.set(who, (owned.get(who) ?? 0) + count);
  }
  // Free blocks: aligned, RAM, in their heap, disjoint from each other and the owned runs.
  const blocks: { mfn: number; end: number; heap: string }[] = [];
  let free = 0;
  for (const [heap, h] of [['xen heap', m.xenHeap], ['domain heap', m.domHeap]] as const) {
    const lists = h.free;
    for (let o = 0; o < lists.length; o++) {
      if (o > MAX_ORDER && lists[o]!.length) fail(`the ${heap} has free blocks of order ${o}, above MAX_ORDER ${MAX_ORDER}`);
      for (const mfn of lists[o]!) {
        int(mfn, `a ${heap} free block`, 0, endMfn - 1);
        const n = 2 ** o;
        if (mfn % n !== 0) fail(`${heap} free block ${hex(mfn)} of order ${o} is not aligned to its size`);
        if (!m.isRam(mfn) || !m.isRam(mfn + n - 1) || m.isIo(mfn) !== m.isIo(mfn + n - 1) || m.isIo(mfn)) fail(`${heap} free block ${hex(mfn)} of order ${o} is not all RAM`);
        if (m.inXenHeap(mfn) !== (heap === 'xen heap')) fail(`${heap} free block ${hex(mfn)} lies outside the ${heap}`);
        blocks.push({ mfn, end: mfn + n, heap });
        free += n;
      }
    }
  }
  blocks.sort((a, b) => a.mfn - b.mfn);
  for (let i = 1; i < blocks.length; i++) {
    if (blocks[i]!.mfn < blocks[i - 1]!.end) fail(`${blocks[i]!.heap} free block ${hex(blocks[i]!.mfn)} overlaps the free block at ${hex(blocks[i - 1]!.mfn)}`);
  }
  const owns = runs as { mfn: number; count: number; owner: number | 'xen' }[];
  let j = 0;
  for (const b of blocks) {
    while (j < owns.length && owns[j]!.mfn + owns[j]!.count <= b.mfn) j++;
    const r = owns[j];
    if (r && r.mfn < b.end) fail(`free ${b.heap} block [${hex(b.mfn)}, ${hex(b.end)}) overlaps frames ${hex(r.mfn)}+${r.count} owned by ${ownerName(r.owner)}`);
  }
  if (free + total !== m.ramPages) fail(`free frames (${free}) + owned frames (${total}) = ${free + total}, but RAM has ${m.ramPages}`);
  return owned;
}

/** Is every frame of [mfn, mfn + count) owned by `owner`? */
function ownsAll(m: Machine, mfn: number, count: number, owner: number | 'xen'): boolean {
  for (let at = mfn; at < mfn + count;) {
    const run = m.frames.lookup(at);
    if (!run || run.owner !== owner) return false;
    at = run.mfn + run.count;
  }
  return true;
}

function checkShape(d: Domain, key: number): void {
  const who = `dom${key}`;
  int(d.domid, `${who}'s domid`, 0, DOMID_FIRST_RESERVED - 1);
  if (d.domid !== key) fail(`the domain listed as dom${key} says it is dom${d.domid}`);
  if (typeof d.privileged !== 'boolean' || typeof d.shadow !== 'boolean') fail(`${who}'s privileged/shadow flags are not booleans`);
  obj(d.rma, `${who}'s RMA`);
  int(d.rma.order, `${who}'s RMA order`, 0, 63);
  int(d.rma.mfn, `${who}'s RMA mfn`);
  int(d.maxPages, `${who}'s max_pages`);
  int(d.totPages, `${who}'s tot_pages`);
  int(d.p2mPaddr, `${who}'s p2m address`);
  int(d.p2mEntries, `${who}'s p2m entries`);
  const arch = obj(d.arch, `${who}'s arch`);
  int(arch.p2m, `${who}'s arch.p2m`);
  if (arch.hpt !== undefined && arch.hpt !== null) {
    const h = obj(arch.hpt, `${who}'s arch.hpt`);
    int(h.mfn, `${who}'s hash table mfn`);
    int(h.order, `${who}'s hash table order`, 0, MAX_ORDER);
  }
  arr(d.extents, `${who}'s extent list`).forEach((e, i) => int(e, `${who}'s extent ${i}`));
  const v = obj(d.vcpu0, `${who}'s vcpu0`);
  if (typeof v.pc !== 'bigint' || typeof v.msr !== 'bigint') fail(`${who}'s vcpu0 pc/msr are not numbers`);
  if (arr(v.gprs, `${who}'s vcpu0 gprs`).length !== 32) fail(`${who}'s vcpu0 has ${(v.gprs as unknown[]).length} GPRs, not 32`);
  str(d.bootargs, `${who}'s bootargs`);
  const images = obj(d.images, `${who}'s images`);
  const k = obj(images.kernel, `${who}'s kernel image record`);
  str(k.source, `${who}'s kernel source`);
  int(k.bytes, `${who}'s kernel bytes`);
  if (images.initrd !== undefined && images.initrd !== null) {
    const i = obj(images.initrd, `${who}'s initrd record`);
    str(i.source, `${who}'s initrd source`);
    int(i.bytes, `${who}'s initrd bytes`);
  }
}

function checkDomain(d: Domain, owned: Map<number | 'xen', number>, ram: Ram): void {
  const m = ram.m;
  const who = `dom${d.domid}`;
  const endMfn = ram.end / PAGE_SIZE;
  // The RMA.
  const rmaPages = 2 ** d.rma.order;
  if (!RMA_SIZES.some((s) => s.bytes === rmaPages * PAGE_SIZE)) fail(`${who}'s RMA of ${rmaPages} pages is not a PPC970 RMA size`);
  if (d.memory.size !== rmaPages * PAGE_SIZE) fail(`${who}'s RMA memory is ${d.memory.size} bytes, not its block's ${rmaPages * PAGE_SIZE}`);
  if (d.rma.mfn % rmaPages !== 0 || d.rma.mfn + rmaPages > endMfn) fail(`${who}'s RMA at mfn ${hex(d.rma.mfn)} is not an aligned block inside RAM`);
  if (!ownsAll(m, d.rma.mfn, rmaPages, d.domid)) fail(`${who}'s RMA frames ${hex(d.rma.mfn)}+${rmaPages} are not all ${who}'s`);
  // Counts.
  if (d.totPages < rmaPages || d.totPages > d.maxPages) fail(`${who}'s tot_pages ${d.totPages} is not between its RMA's ${rmaPages} pages and max_pages ${d.maxPages}`);
  const seen = new Set<number>();
  for (const e of d.extents) {
    if (e % EXTENT_PAGES !== 0 || e + EXTENT_PAGES > endMfn) fail(`${who}'s extent ${hex(e)} is not an aligned 16 MiB block inside RAM`);
    if (seen.has(e)) fail(`${who}'s extent ${hex(e)} is listed twice`);
    seen.add(e);
    // A balloon may have released the top of the last extent kept: its first frame stays the domain's.
    if (!ownsAll(m, e, 1, d.domid)) fail(`${who}'s extent ${hex(e)} is not ${who}'s`);
  }
  const extentsNeeded = Math.ceil((d.totPages - rmaPages) / EXTENT_PAGES);
  if (d.extents.length > extentsNeeded) fail(`${who} lists ${d.extents.length} extents but tot_pages ${d.totPages} less its RMA's ${rmaPages} pages fills at most ${extentsNeeded}`);
  const mine = owned.get(d.domid) ?? 0;
  if (mine !== d.totPages) fail(`${who} owns ${mine} frames but its tot_pages is ${d.totPages}`);
  // Tables.
  const rmaBytes = d.memory.size;
  if (d.shadow) {
    const x = d.xenP2m;
    if (!x) fail(`${who} is a shadow domain without a Xen p2m`);
    int(x.mfn, `${who}'s Xen p2m mfn`, 0, endMfn - 1);
    int(x.order, `${who}'s Xen p2m order`, 0, MAX_ORDER);
    int(x.entries, `${who}'s Xen p2m entries`);
    if (x.entries * 4 > 2 ** x.order * PAGE_SIZE) fail(`${who}'s Xen p2m holds ${x.entries} entries in a block of ${2 ** x.order} pages`);
    if (x.entries < d.totPages) fail(`${who}'s Xen p2m has ${x.entries} entries, fewer than its tot_pages ${d.totPages}`);
    if (!ownsAll(m, x.mfn, 2 ** x.order, 'xen') || !m.inXenHeap(x.mfn)) fail(`${who}'s Xen p2m block ${hex(x.mfn)} is not a Xen-heap block Xen owns`);
  } else {
    if (d.p2mPaddr % 4 !== 0 || d.p2mPaddr + d.p2mEntries * 4 > rmaBytes) fail(`${who}'s p2m table [${hex(d.p2mPaddr)}, +${d.p2mEntries * 4}) is not inside its ${rmaBytes}-byte RMA`);
    if (d.p2mEntries < d.totPages) fail(`${who}'s p2m table has ${d.p2mEntries} entries, fewer than its tot_pages ${d.totPages}`);
    if (d.arch.p2m !== d.rma.mfn * PAGE_SIZE + d.p2mPaddr) fail(`${who}'s arch.p2m ${hex(d.arch.p2m)} is not its table's machine address ${hex(d.rma.mfn * PAGE_SIZE + d.p2mPaddr)}`);
  }
  if (d.arch.hpt) {
    const h = d.arch.hpt;
    if (h.mfn % 2 ** h.order !== 0 || !ownsAll(m, h.mfn, 2 ** h.order, 'xen') || !m.inXenHeap(h.mfn)) fail(`${who}'s hash table block ${hex(h.mfn)} of order ${h.order} is not an aligned Xen-heap block Xen owns`);
  }
  // dom0's own table lives in its RMA and is read on demand: its every entry is validate's to
  // check (p2m-entries-owned, -unique, -unused-invalid); Xen's tables for shadow domains are checked here.
  if (d.shadow) checkEntries(d, m);
  // Layouts: every region inside the RMA.
  if (d.domid === 0 && !d.layout) fail(`${who} has no RMA layout`);
  if (d.layout) {
    const l = obj(d.layout, `${who}'s RMA layout`);
    for (const name of ['kernel', 'firmware', 'devtree', 'p2m', 'sharedInfo']) region(l[name], `${who}'s layout.${name}`, rmaBytes);
    if (l.initrd !== undefined) region(l.initrd, `${who}'s layout.initrd`, rmaBytes);
    int(l.rmaSize, `${who}'s layout.rmaSize`, rmaBytes, rmaBytes);
    int(l.stackPointer, `${who}'s layout stack pointer`, 0, rmaBytes);
    int(l.capacityEntries, `${who}'s layout capacity`);
    if (!d.shadow) {
      const p2m = l.p2m as { start: number; end: number };
      const si = l.sharedInfo as { start: number; end: number };
      if (d.p2mPaddr + d.p2mEntries * 4 > si.start && d.p2mPaddr < si.end) fail(`${who}'s p2m table overlaps shared_info`);
      if (p2m.start !== d.p2mPaddr) fail(`${who}'s layout puts the p2m table at ${hex(p2m.start)}, not at ${hex(d.p2mPaddr)}`);
    }
  }
  if (d.domid !== 0) {
    if (!d.shadow || d.privileged) fail(`${who} is not an unprivileged shadow domain`);
    const u = obj(d.domu, `${who}'s domU record`);
    const l = obj(u.layout, `${who}'s domU layout`);
    int(l.rmaSize, `${who}'s domU layout rmaSize`, rmaBytes, rmaBytes);
    for (const name of ['kernel', 'devtree', 'xenstore', 'console', 'sharedInfo']) region(l[name], `${who}'s domU layout.${name}`, rmaBytes);
    const ev = obj(u.evtchn, `${who}'s event channels`);
    int(ev.console, `${who}'s console event channel`);
    int(ev.store, `${who}'s store event channel`);
    int(u.bootPages, `${who}'s boot pages`);
  } else if (!d.privileged) fail('dom0 is not privileged');
  if (d.guest) {
    const g = obj(d.guest, `${who}'s guest record`);
    if (!(g.hidx instanceof Uint8Array)) fail(`${who}'s guest slot record is not bytes`);
    const rec = obj(g.rec, `${who}'s guest record`);
    if (rec.domid !== d.domid) fail(`${who}'s guest record is dom${String(rec.domid)}'s`);
    const lin = obj(rec.linear, `${who}'s guest linear map record`);
    if (lin.pageShift !== 12 && lin.pageShift !== 24) fail(`${who}'s linear map page shift ${String(lin.pageShift)} is not 12 or 24`);
    int(lin.bytes, `${who}'s linear map bytes`);
    arr(lin.fallbackExtents, `${who}'s fallback extents`).forEach((e, i) => int(e, `${who}'s fallback extent ${i}`));
    obj(rec.devtree, `${who}'s guest devtree record`);
  }
}

/** Rule 5: used entries hold owned frames, none twice; unused ones INVALID_MFN. */
function checkEntries(d: Domain, m: Machine): void {
  const who = `dom${d.domid}`;
  const table = p2mOf(d);
  const valid: { pfn: number; mfn: number; count: number }[] = [];
  // A shadow domain's map is flat (no IO hole): pfns [0, tot_pages) are RAM.
  for (const r of table.runs(0, table.entries)) {
    if (r.pfn < d.totPages) {
      const inUse = Math.min(r.count, d.totPages - r.pfn);
      if (r.mfn === INVALID_MFN) fail(`${who}'s pfn ${hex(r.pfn)} is below tot_pages ${d.totPages} but holds INVALID_MFN`);
      if (!ownsAll(m, r.mfn, inUse, d.domid)) fail(`${who}'s p2m maps pfns ${hex(r.pfn)}+${inUse} to mfns ${hex(r.mfn)}.., frames it does not own`);
      valid.push({ pfn: r.pfn, mfn: r.mfn, count: inUse });
      if (inUse < r.count && r.mfn !== INVALID_MFN) fail(`${who}'s pfn ${hex(d.totPages)} is past tot_pages but holds a frame`);
    } else if (r.mfn !== INVALID_MFN) {
      fail(`${who}'s pfn ${hex(r.pfn)} is past tot_pages ${d.totPages} but holds mfn ${hex(r.mfn)}`);
    }
  }
  valid.sort((a, b) => a.mfn - b.mfn);
  for (let i = 1; i < valid.length; i++) {
    const a = valid[i - 1]!;
    const b = valid[i]!;
    if (b.mfn < a.mfn + a.count) fail(`${who}'s p2m maps mfn ${hex(b.mfn)} twice`);
  }
}

/** Rule 6. */
function checkRefs(sys: System, ram: Ram): void {
  const m = ram.m;
  const endMfn = ram.end / PAGE_SIZE;
  for (const [mfn, n] of m.pageRefs) {
    int(mfn, 'a page reference\'s mfn', 0, endMfn - 1);
    int(n, `mfn ${hex(mfn)}'s page references`, 1);
  }
  arr(sys.foreign, 'the foreign mapping list').forEach((f0, i) => {
    const f = obj(f0, `foreign mapping ${i}`);
    const caller = int(f.caller, `foreign mapping ${i}'s caller`, 0, DOMID_FIRST_RESERVED - 1);
    const domid = int(f.domid, `foreign mapping ${i}'s domid`, 0, DOMID_FIRST_RESERVED - 1);
    int(f.pfn, `foreign mapping ${i}'s pfn`);
    const mfn = int(f.mfn, `foreign mapping ${i}'s mfn`, 0, endMfn - 1);
    int(f.slot, `foreign mapping ${i}'s slot`);
    str(f.ea, `foreign mapping ${i}'s address`);
    if (!sys.domains.has(caller) || !sys.domains.has(domid)) fail(`foreign mapping ${i} names a domain that does not exist`);
    const run = m.frames.lookup(mfn);
    if (!run || run.owner !== domid) fail(`foreign mapping ${i}'s mfn ${hex(mfn)} is not dom${domid}'s`);
    if (!m.pageRefs.get(mfn)) fail(`foreign mapping ${i}'s mfn ${hex(mfn)} holds no page reference`);
  });
}

function checkBuild(sys: System): void {
  const b = obj(sys.build, 'the build record');
  str(b.machineSource, 'the build record\'s machine');
  obj(b.options, 'the build options');
  const r = obj(b.report, 'the build report');
  for (const k of ['memBytes', 'maxPages', 'platformLimitBytes', 'hptBytes', 'devtreeBytes', 'extentsAllocated']) int(r[k], `the build report's ${k}`);
  str(r.maxMemSource, 'the build report\'s maxMemSource');
  arr(r.notes, 'the build notes').forEach((n, i) => str(n, `build note ${i}`));
}

/** The first rule a decoded state breaks, in words, or undefined when it holds together. */
export function checkSystem(sys: System): string | undefined {
  try {
    const m = sys.machine;
    const ranges = arr(m.ram, 'the RAM ranges');
    if (ranges.length === 0) fail('the machine has no RAM');
    const last = m.ram[m.ram.length - 1]!;
    const ram: Ram = { end: (last.mfn + last.count) * PAGE_SIZE, m };
    if (!(sys.domains instanceof Map) || !sys.domains.has(0)) fail('there is no dom0');
    for (const [key, d] of sys.domains) checkShape(d, key);
    checkBuild(sys);
    const tree = fdtProblem(sys.firmwareTree);
    if (tree) fail(`the firmware tree: ${tree}`);
    const owned = checkFrames(sys, ram);
    for (const d of sys.domains.values()) checkDomain(d, owned, ram);
    checkRefs(sys, ram);
    return undefined;
  } catch (e) {
    if (e instanceof Broken) return e.message;
    // A field of the wrong type met on the way (a getter over a forged value).
    if (e instanceof TypeError || e instanceof RangeError) return `its contents do not hold together (${e.message})`;
    throw e;
  }
}

