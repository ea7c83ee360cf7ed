/**
 * validate: every invariant of a built state, checked from the state alone
 * (the device tree in the RMA, the tables, the hash table, the heaps).
 */
import { readFdt, FdtFormatError } from '../devtree/fdt_ro';
import { bootCpuNode, machineRamFromTree } from '../devtree/ofd_fixup';
import { dec, DeviceTree, DeviceTreeError, findNode, getProp } from '../devtree/tree';
import { checkHpt, Findings } from '../hpt/check';
import { rpnOf } from '../hpt/constants';
import { BusWindow, mmioWindows, RegEntry } from '../devtree/reg';
import { inHole, pfnSpan, ramRuns } from './physmap';
import { INVALID_MFN, MAX_ORDER, PAGE_SIZE } from '../machine/constants';
import { rmlsOf } from '../machine/cpu';
import type { Machine } from '../machine/machine';
import { DombuildError } from '../util/errors';
import { formatSize, hex } from '../util/size';
import type { Domain } from './domain';
import { p2mOf } from './shadow_p2m';
import type { P2mTable } from '../p2m/table';
import type { System } from './system';

/** One invariant's outcome. `name` is stable: tests and scripts match on it. */
export interface InvariantResult {
  name: string;
  what: string;
  status: 'ok' | 'broken' | 'skipped';
  /** How many things were looked at. */
  checked: number;
  /** How many are wrong, and the first few in words. */
  problems: number;
  samples: string[];
  /** Why it was skipped. */
  note?: string;
}

export interface ValidationReport {
  ok: boolean;
  domid: number;
  invariants: InvariantResult[];
}

/** The invariants, in report order, with what each promises. */
export const INVARIANTS: readonly { name: string; what: string }[] = [
  { name: 'devtree-readable', what: "dom0's device tree in its RMA parses and has /xen/p2m (two u64)" },
  { name: 'p2m-where-devtree-says', what: "the table is where /xen/p2m says (address and size), and arch.p2m is its machine address" },
  { name: 'p2m-reserved', what: 'a memory reservation entry covers the whole table' },
  { name: 'p2m-inside-rma', what: 'the table lies inside the RMA (what /memory@0 describes)' },
  { name: 'ram-outside-mmio', what: "no dom0 RAM (its memory nodes, the table's used entries) lies in an MMIO window of its own tree: the IO hole its map keeps, its host bridges' ranges" },
  { name: 'rma-aligned', what: 'the RMA is a PPC970 size, its base aligned to its size, all of it dom0\'s' },
  { name: 'p2m-entries-owned', what: "every used entry (one of dom0's tot_pages RAM pfns) holds a frame dom0 owns" },
  { name: 'p2m-entries-unique', what: 'no machine frame appears twice in the table' },
  { name: 'p2m-unused-invalid', what: "every entry that is not RAM (the IO hole's, past tot_pages) is INVALID_MFN" },
  { name: 'hpt-size', what: "the hash table's size is the boot cpu's ibm,pft-size, from a Xen-heap block Xen owns" },
  { name: 'hpte-avpn', what: "every valid HPTE's AVPN agrees with its slot's hash, and bolted ones lie in the linear map" },
  { name: 'hpte-rpn', what: "every valid HPTE's RPN is the p2m table's frame for its EA's pfn (else a frame the domain may map)" },
  { name: 'linear-map', what: 'every dom0 pfn has exactly one bolted HPTE' },
  { name: 'linear-r-flags', what: "every bolted linear page's r flags are Linux's mode_rw (0x190) inside kernel text [_stext, __init_end) and add HPTE_R_N (0x194) outside it" },
  { name: 'guest-slot-record', what: "the guest's record of each page's slot (hidx) points at its HPTE (2.6.22's linear_map_hash_slots; 2.6.18 keeps none)" },
  { name: 'page-refs', what: 'page references are exactly the foreign mappings in the hash tables' },
  { name: 'heap-accounting', what: 'free frames in both heaps + owned frames (Xen low memory included) = RAM' },
  { name: 'heap-free-disjoint', what: 'free blocks are aligned, inside RAM and their heap, and overlap neither each other nor an owned run' },
  { name: 'domain-ids', what: "every domain is listed under its own domid, no domid twice, dom0 among them; every owned frame's owner exists" },
  { name: 'domain-pages', what: "every domain owns exactly tot_pages frames (RMA, extents, ballooned pages), and each domU's table maps only frames it owns, each once" },
];

class Report {
  private readonly results = new Map<string, InvariantResult>();

  constructor() {
    for (const inv of INVARIANTS) this.results.set(inv.name, { ...inv, status: 'ok', checked: 0, problems: 0, samples: [] });
  }

  get(name: string): InvariantResult {
    const r = this.results.get(name);
    if (!r) throw new Error(`no invariant ${name}`);
    return r;
  }

  checked(name: string, n = 1): void {
    this.get(name).checked += n;
  }

  fail(name: string, text: string): void {
    const r = this.get(name);
    r.status = 'broken';
    r.problems++;
    if (r.samples.length < 8) r.samples.push(text);
  }

  findings(name: string, f: Findings, checked: number): void {
    const r = this.get(name);
    r.checked += checked;
    if (f.count === 0) return;
    r.status = 'broken';
    r.problems += f.count;
    r.samples.push(...f.samples.slice(0, 8 - r.samples.length));
  }

  skip(name: string, note: string): void {
    const r = this.get(name);
    if (r.status === 'ok') r.status = 'skipped';
    r.note = note;
  }

  done(domid: number): ValidationReport {
    const invariants = [...this.results.values()];
    return { ok: invariants.every((r) => r.status !== 'broken'), domid, invariants };
  }
}

interface TreeFacts { p2m?: { paddr: number; bytes: number }; reservations: { address: bigint; size: bigint }[]; rmaBytes?: number; pftSizeLog2?: number; memory: RegEntry[]; mmio: BusWindow[] }

/**
 * What validate needs from the guest kernel's side, joined in by the
 * builder: its reading of the device tree blob out of the RMA (which throws
 * a DombuildError when the blob is not there), and its record of each
 * hashed page's slot.
 */
export interface GuestSide {
  devtreeBlob(d: Domain): Uint8Array;
  /**
   * What the booted guest kept (undefined when it was not booted): its slot
   * record, when its kernel keeps one (else why not), and its kernel text.
   */
  linear(d: Domain): { slotOf?: (pfn: number) => number; noSlotRecord?: string; text?: { start: number; end: number } } | undefined;
}

/** Check every invariant of a built state. Pure: reads the System, changes nothing. */
export function validateSystem(sys: System, guestSide: GuestSide): ValidationReport {
  const rep = new Report();
  const d = sys.dom0();
  const m = sys.machine;

  // The device tree, as the guest would read it.
  const facts = treeFacts(d, rep, guestSide);
  const tableBytes = d.p2mEntries * 4;
  // The table that translates dom0's pfns: its own in its RMA, or (a legacy,
  // shadow dom0) the one Xen keeps.
  let table: P2mTable | undefined;
  try {
    table = p2mOf(d);
  } catch (e) {
    rep.fail('p2m-entries-owned', `dom0's p2m table cannot be read: ${(e as Error).message}`);
  }

  if (d.shadow) {
    for (const n of ['p2m-where-devtree-says', 'p2m-reserved', 'p2m-inside-rma']) rep.skip(n, 'dom0 is a shadow domain (legacy translation): Xen keeps its table');
  } else if (facts.p2m) {
    rep.checked('p2m-where-devtree-says');
    if (facts.p2m.paddr !== d.p2mPaddr || facts.p2m.bytes !== tableBytes) {
      rep.fail('p2m-where-devtree-says', `/xen/p2m says <${hex(facts.p2m.paddr)} ${hex(facts.p2m.bytes)}> but dom0's table is at guest ${hex(d.p2mPaddr)}, ${hex(tableBytes)} bytes`);
    }
    const maddr = d.rma.mfn * PAGE_SIZE + d.p2mPaddr;
    if (d.arch.p2m !== maddr) rep.fail('p2m-where-devtree-says', `arch.p2m is ${hex(d.arch.p2m)} but the table's machine address is ${hex(maddr)} (RMA at ${hex(d.rma.mfn * PAGE_SIZE)} + ${hex(d.p2mPaddr)})`);

    const { paddr, bytes } = facts.p2m;
    rep.checked('p2m-reserved');
    if (!facts.reservations.some((r) => r.address <= BigInt(paddr) && r.address + r.size >= BigInt(paddr + bytes))) {
      rep.fail('p2m-reserved', `no reservation covers [${hex(paddr)}, ${hex(paddr + bytes)}); reservations: ${facts.reservations.map((r) => `[${hex(r.address)}, ${hex(r.address + r.size)})`).join(', ') || 'none'}`);
    }
    rep.checked('p2m-inside-rma');
    const rmaBytes = facts.rmaBytes ?? d.rmaBytes;
    if (paddr + bytes > rmaBytes || paddr + bytes > d.rmaBytes) rep.fail('p2m-inside-rma', `[${hex(paddr)}, ${hex(paddr + bytes)}) runs past the ${formatSize(Math.min(rmaBytes, d.rmaBytes))} RMA`);
    if (facts.rmaBytes !== undefined && facts.rmaBytes !== d.rmaBytes) rep.fail('p2m-inside-rma', `/memory@0 describes ${formatSize(facts.rmaBytes)} but the RMA is ${formatSize(d.rmaBytes)}`);
  } else {
    for (const n of ['p2m-where-devtree-says', 'p2m-reserved', 'p2m-inside-rma']) rep.skip(n, 'no readable /xen/p2m');
  }

  checkRma(d, m, rep);
  if (table) checkEntries(d, table, m, rep);
  checkRamOutsideMmio(d, facts, table, rep);

  // The hash table.
  rep.checked('hpt-size');
  const hptBytes = d.hptBytes;
  if (hptBytes === undefined) rep.fail('hpt-size', 'dom0 has no hash table (arch.hpt)');
  else {
    if (facts.pftSizeLog2 !== undefined && 2 ** facts.pftSizeLog2 !== hptBytes) rep.fail('hpt-size', `ibm,pft-size says ${formatSize(2 ** facts.pftSizeLog2)} (<0 ${facts.pftSizeLog2}>) but Xen gave dom0 ${formatSize(hptBytes)}`);
    if (facts.pftSizeLog2 === undefined) rep.fail('hpt-size', 'the boot cpu has no ibm,pft-size <0 log2(bytes)>');
    const h = d.arch.hpt!;
    const run = m.frames.lookup(h.mfn);
    if (!run || run.owner !== 'xen' || run.mfn + run.count < h.mfn + 2 ** h.order || !m.inXenHeap(h.mfn)) rep.fail('hpt-size', `the table's frames ${hex(h.mfn)}+${2 ** h.order} are not a Xen-heap block Xen owns`);
  }
  const booted = d.hptInUse;
  const lin = guestSide.linear(d);
  const slotOf = lin?.slotOf;
  let foreign = new Map<number, number>();
  if (booted && hptBytes !== undefined) {
    const t = d.hpt;
    if (t.bytes !== hptBytes) rep.fail('hpt-size', `the saved table is ${formatSize(t.bytes)} but arch.hpt is ${formatSize(hptBytes)}`);
    const res = checkHpt({ table: t, domid: d.domid, privileged: d.privileged, machine: m, p2m: table ?? d.p2m(), ram: ramRuns(d.ioHole, 0, d.totPages), guest: lin ? { hidxOf: slotOf, text: lin.text } : undefined });
    rep.findings('hpte-avpn', res.avpn, res.checked);
    rep.findings('hpte-rpn', res.rpn, res.checked);
    foreign = res.foreign;
    if (lin) {
      rep.findings('linear-map', res.linear, d.totPages);
      if (lin.text) rep.findings('linear-r-flags', res.rFlags, res.rFlagsChecked);
      else rep.skip('linear-r-flags', "the state does not say where the kernel's text is (made before it was kept)");
      if (slotOf) rep.findings('guest-slot-record', res.hidx, res.checked);
      else rep.skip('guest-slot-record', lin.noSlotRecord ?? 'the guest keeps no slot record');
    }
  } else {
    rep.skip('hpte-avpn', 'no hash table entries: the guest was not booted');
    rep.skip('hpte-rpn', 'no hash table entries: the guest was not booted');
  }
  if (!lin) {
    rep.skip('linear-map', 'the guest was not booted');
    rep.skip('linear-r-flags', 'the guest was not booted');
    rep.skip('guest-slot-record', 'the guest was not booted');
  }
  // Foreign mappings of the other domains' tables count too.
  for (const other of sys.domains.values()) {
    if (other === d || !other.hptInUse) continue;
    other.hpt.forEachValid((_slot, _vHi, _vLo, rHi, rLo) => {
      const mfn = rpnOf(rHi, rLo);
      const owner = m.frames.ownerOf(mfn);
      if (typeof owner === 'number' && owner !== other.domid) foreign.set(mfn, (foreign.get(mfn) ?? 0) + 1);
    });
  }
  checkPageRefs(m, foreign, rep);
  checkHeaps(m, rep);
  checkDomains(sys, rep);
  return rep.done(d.domid);
}

function treeFacts(d: Domain, rep: Report, guestSide: GuestSide): TreeFacts {
  rep.checked('devtree-readable');
  let tree: DeviceTree;
  try {
    tree = readFdt(guestSide.devtreeBlob(d));
  } catch (e) {
    if (e instanceof FdtFormatError || e instanceof DombuildError) {
      rep.fail('devtree-readable', e.message);
      return { reservations: [], memory: [], mmio: [] };
    }
    throw e;
  }
  const facts: TreeFacts = { reservations: tree.reservations, memory: [], mmio: [] };
  try {
    const xen = findNode(tree.root, '/xen');
    const prop = xen && getProp(xen, 'p2m');
    if (!prop) {
      if (!d.shadow) rep.fail('devtree-readable', 'no /xen/p2m property');
    }
    else if (prop.value.length !== 16) rep.fail('devtree-readable', `/xen/p2m is ${prop.value.length} bytes, not two u64`);
    else facts.p2m = { paddr: Number(dec.u64(prop.value, 0)), bytes: Number(dec.u64(prop.value, 1)) };
    facts.memory = machineRamFromTree(tree);
    facts.mmio = mmioWindows(tree.root);
    const rma = facts.memory.find((r) => r.address === 0n);
    if (rma) facts.rmaBytes = Number(rma.size);
    const cpu = bootCpuNode(tree);
    const pft = cpu && getProp(cpu, 'ibm,pft-size');
    if (pft && pft.value.length === 8) facts.pftSizeLog2 = dec.u32(pft.value, 1);
  } catch (e) {
    if (e instanceof DeviceTreeError) rep.fail('devtree-readable', e.message);
    else throw e;
  }
  return facts;
}

function checkRma(d: Domain, m: Machine, rep: Report): void {
  rep.checked('rma-aligned');
  const pages = 2 ** d.rma.order;
  try {
    rmlsOf(pages * PAGE_SIZE);
  } catch (e) {
    if (!(e instanceof DombuildError)) throw e;
    rep.fail('rma-aligned', `the RMA is ${formatSize(pages * PAGE_SIZE)}, not a size the PPC970 supports`);
  }
  if (pages * PAGE_SIZE !== d.rmaBytes) rep.fail('rma-aligned', `the RMA block is ${formatSize(pages * PAGE_SIZE)} but its memory is ${formatSize(d.rmaBytes)}`);
  if (d.rma.mfn % pages !== 0) rep.fail('rma-aligned', `the RMA at machine ${hex(d.rma.mfn * PAGE_SIZE)} is not aligned to its size ${formatSize(pages * PAGE_SIZE)}`);
  const bad = notOwnedBy(m, d.rma.mfn, pages, d.domid);
  if (bad) rep.fail('rma-aligned', `RMA frame ${hex(bad.mfn)} is ${bad.what}, not dom${d.domid}'s`);
}

/** The first frame of [mfn, mfn + count) that `owner` does not own, with what it is instead. */
function notOwnedBy(m: Machine, mfn: number, count: number, owner: number): { mfn: number; what: string } | undefined {
  const end = mfn + count;
  let at = mfn;
  while (at < end) {
    const run = m.frames.lookup(at);
    if (!run) return { mfn: at, what: m.isIo(at) ? 'in the IO hole' : !m.isRam(at) ? 'beyond RAM' : 'free' };
    if (run.owner !== owner) return { mfn: at, what: run.owner === 'xen' ? `Xen's (${run.use})` : `dom${run.owner}'s` };
    at = run.mfn + run.count;
  }
  return undefined;
}

function checkEntries(d: Domain, table: P2mTable, m: Machine, rep: Report): void {
  // A legacy dom0's map is flat (Xen keeps its table, pfns 0..tot_pages); the proposal's keeps its hole.
  const ram = ramRuns(d.ioHole, 0, d.totPages);
  const isRam = (pfn: number): boolean => ram.some((r) => pfn >= r.pfn && pfn < r.pfn + r.count);
  const used = ram.reduce((n, r) => n + Math.max(0, Math.min(r.count, table.entries - r.pfn)), 0);
  const valid: { pfn: number; mfn: number; count: number }[] = [];
  // Runs, cut where RAM starts or stops (the hole's edges, tot_pages' pfn span).
  const cuts = [...new Set([0, ...ram.flatMap((r) => [r.pfn, r.pfn + r.count]), table.entries])].filter((c) => c <= table.entries).sort((a, b) => a - b);
  for (let k = 0; k + 1 < cuts.length; k++) {
    const inUse = isRam(cuts[k]);
    for (const r of table.runs(cuts[k], cuts[k + 1])) {
      if (r.mfn === INVALID_MFN) {
        if (inUse) rep.fail('p2m-entries-owned', `pfns ${hex(r.pfn)}..${hex(r.pfn + r.count - 1)} are RAM (tot_pages ${hex(d.totPages)}) but hold INVALID_MFN`);
        continue;
      }
      valid.push(r);
      if (inUse) {
        const bad = notOwnedBy(m, r.mfn, r.count, d.domid);
        if (bad) rep.fail('p2m-entries-owned', `pfn ${hex(r.pfn + (bad.mfn - r.mfn))} -> mfn ${hex(bad.mfn)}, which is ${bad.what}`);
      } else {
        const why = inHole(d.ioHole, r.pfn) ? 'in the IO hole of its map' : `past tot_pages (${hex(d.totPages)})`;
        rep.fail('p2m-unused-invalid', `pfns ${hex(r.pfn)}..${hex(r.pfn + r.count - 1)} are ${why} but hold mfns ${hex(r.mfn)}..`);
      }
    }
  }
  rep.checked('p2m-entries-owned', used);
  rep.checked('p2m-unused-invalid', table.entries - used);
  // None twice: sort the valid runs by machine frame and look for overlaps.
  valid.sort((a, b) => a.mfn - b.mfn);
  rep.checked('p2m-entries-unique', valid.reduce((n, r) => n + r.count, 0));
  for (let i = 1; i < valid.length; i++) {
    const a = valid[i - 1];
    const b = valid[i];
    if (b.mfn < a.mfn + a.count) {
      rep.fail('p2m-entries-unique', `mfn ${hex(b.mfn)} is in the table twice: pfn ${hex(a.pfn + (b.mfn - a.mfn))} and pfn ${hex(b.pfn)}`);
      if (b.mfn + b.count < a.mfn + a.count) valid[i] = a; // keep the longer run for the next comparison
    }
  }
}

/**
 * dom0 sees the machine's devices at their machine addresses, so its RAM
 * must keep clear of every MMIO window: the IO hole (when its map keeps
 * one) and the `ranges` of its tree's host bridges.
 */
function checkRamOutsideMmio(d: Domain, facts: TreeFacts, table: P2mTable | undefined, rep: Report): void {
  const windows: { start: number; end: number; what: string }[] = facts.mmio.map((w) => ({ start: Number(w.address), end: Number(w.address + w.size), what: `${w.node}'s window` }));
  if (d.ioHole) windows.push({ start: d.ioHole.start * PAGE_SIZE, end: d.ioHole.end * PAGE_SIZE, what: 'the IO hole' });
  rep.checked('ram-outside-mmio', facts.memory.length);
  for (const r of facts.memory) {
    const a = Number(r.address);
    const e = a + Number(r.size);
    for (const w of windows) if (a < w.end && e > w.start) rep.fail('ram-outside-mmio', `memory [${hex(a)}, ${hex(e)}) of dom0's tree overlaps ${w.what} [${hex(w.start)}, ${hex(w.end)})`);
  }
  if (!table || d.shadow) return;
  for (const w of windows) {
    const from = Math.floor(w.start / PAGE_SIZE);
    const to = Math.min(Math.ceil(w.end / PAGE_SIZE), table.entries, pfnSpan(d.ioHole, d.totPages));
    if (to <= from) continue;
    rep.checked('ram-outside-mmio', to - from);
    for (const r of table.runs(from, to)) if (r.mfn !== INVALID_MFN) rep.fail('ram-outside-mmio', `pfns ${hex(r.pfn)}..${hex(r.pfn + r.count - 1)} lie in ${w.what} [${hex(w.start)}, ${hex(w.end)}) but the table maps them to RAM (mfn ${hex(r.mfn)}..)`);
  }
}

/** domain-ids and domain-pages: what a forged state can break that the per-dom0 checks do not see. */
function checkDomains(sys: System, rep: Report): void {
  const m = sys.machine;
  const ids = new Map<number, number>();
  for (const [key, dom] of sys.domains) {
    rep.checked('domain-ids');
    if (dom.domid !== key) rep.fail('domain-ids', `the domain listed as dom${key} says it is dom${dom.domid}`);
    ids.set(dom.domid, (ids.get(dom.domid) ?? 0) + 1);
  }
  for (const [id, n] of ids) if (n > 1) rep.fail('domain-ids', `domid ${id} is used by ${n} domains`);
  if (!sys.domains.has(0)) rep.fail('domain-ids', 'there is no dom0');
  const owned = new Map<number, number>();
  for (const r of m.frames.all()) {
    if (r.owner === 'xen') continue;
    if (!sys.domains.has(r.owner)) rep.fail('domain-ids', `frames ${hex(r.mfn)}..${hex(r.mfn + r.count - 1)} (${r.use}) are owned by dom${r.owner}, which does not exist`);
    owned.set(r.owner, (owned.get(r.owner) ?? 0) + r.count);
  }
  for (const dom of sys.domains.values()) {
    rep.checked('domain-pages');
    const n = owned.get(dom.domid) ?? 0;
    if (n !== dom.totPages) rep.fail('domain-pages', `dom${dom.domid} owns ${n} frames but its tot_pages is ${dom.totPages}`);
    if (dom.domid === 0) continue; // dom0's table: p2m-entries-owned, p2m-entries-unique
    let table: P2mTable;
    try {
      table = p2mOf(dom);
    } catch (e) {
      rep.fail('domain-pages', `dom${dom.domid}'s p2m table cannot be read: ${(e as Error).message}`);
      continue;
    }
    const used = Math.min(dom.totPages, table.entries);
    const valid: { pfn: number; mfn: number; count: number }[] = [];
    for (const r of table.runs(0, used)) {
      if (r.mfn === INVALID_MFN) continue;
      const bad = notOwnedBy(m, r.mfn, r.count, dom.domid);
      if (bad) rep.fail('domain-pages', `dom${dom.domid}'s pfn ${hex(r.pfn + (bad.mfn - r.mfn))} -> mfn ${hex(bad.mfn)}, which is ${bad.what}`);
      valid.push(r);
    }
    valid.sort((a, b) => a.mfn - b.mfn);
    for (let i = 1; i < valid.length; i++) {
      if (valid[i].mfn < valid[i - 1].mfn + valid[i - 1].count) rep.fail('domain-pages', `dom${dom.domid}'s table maps mfn ${hex(valid[i].mfn)} twice`);
    }
  }
}

function checkPageRefs(m: Machine, foreign: Map<number, number>, rep: Report): void {
  const mfns = new Set([...m.pageRefs.keys(), ...foreign.keys()]);
  rep.checked('page-refs', mfns.size);
  for (const mfn of [...mfns].sort((a, b) => a - b)) {
    const refs = m.pageRefs.get(mfn) ?? 0;
    const maps = foreign.get(mfn) ?? 0;
    if (refs !== maps) rep.fail('page-refs', `mfn ${hex(mfn)} has ${refs} page reference(s) but ${maps} foreign mapping(s) in the hash tables`);
  }
}

function checkHeaps(m: Machine, rep: Report): void {
  const ramPages = m.ramPages;
  const xenLow = m.profile.xenLowMemory / PAGE_SIZE;
  const runs = m.frames.all();
  let owned = 0;
  let ownedXen = 0;
  for (const r of runs) {
    owned += r.count;
    if (r.owner === 'xen') ownedXen += r.count;
    if (!m.isRam(r.mfn) || !m.isRam(r.mfn + r.count - 1) || (m.isIo(r.mfn + r.count - 1) !== m.isIo(r.mfn))) {
      rep.fail('heap-accounting', `frames ${hex(r.mfn)}..${hex(r.mfn + r.count - 1)} owned by ${r.owner === 'xen' ? 'xen' : `dom${r.owner}`} (${r.use}) are not all RAM`);
    }
  }
  const low = m.frames.lookup(0);
  if (!low || low.owner !== 'xen' || low.count < xenLow) rep.fail('heap-accounting', `Xen's low memory [0, ${formatSize(xenLow * PAGE_SIZE)}) is not owned by Xen`);
  const blocks: { mfn: number; end: number; heap: string }[] = [];
  let free = 0;
  for (const [heap, h] of [['xen heap', m.xenHeap], ['domain heap', m.domHeap]] as const) {
    const lists = h.free; // a getter that copies every list: once per heap
    for (let o = 0; o <= MAX_ORDER; o++) {
      for (const mfn of lists[o] ?? []) {
        free += 2 ** o;
        blocks.push({ mfn, end: mfn + 2 ** o, heap });
        rep.checked('heap-free-disjoint');
        if (mfn % 2 ** o !== 0) rep.fail('heap-free-disjoint', `${heap} block ${hex(mfn)} of order ${o} is not aligned to its size`);
        if (!m.isRam(mfn) || !m.isRam(mfn + 2 ** o - 1) || m.isIo(mfn) !== m.isIo(mfn + 2 ** o - 1)) rep.fail('heap-free-disjoint', `${heap} block ${hex(mfn)} of order ${o} is not all RAM`);
        else if (m.inXenHeap(mfn) !== (heap === 'xen heap')) rep.fail('heap-free-disjoint', `${heap} block ${hex(mfn)} of order ${o} lies in the ${heap === 'xen heap' ? 'domain heap' : 'xen heap'}`);
      }
    }
  }
  rep.checked('heap-accounting', ramPages);
  if (owned + free !== ramPages) {
    rep.fail('heap-accounting', `free ${free} (xen heap ${m.xenHeap.freeCount}, domain heap ${m.domHeap.freeCount}) + owned ${owned} (Xen ${ownedXen}, of which low memory ${xenLow}; domains ${owned - ownedXen}) = ${owned + free} frames, but RAM has ${ramPages} (${owned + free > ramPages ? 'over' : 'under'} by ${Math.abs(owned + free - ramPages)})`);
  }
  // Free blocks against each other, then against the owned runs (both sorted).
  blocks.sort((a, b) => a.mfn - b.mfn);
  for (let i = 1; i < blocks.length; i++) {
    if (blocks[i].mfn < blocks[i - 1].end) rep.fail('heap-free-disjoint', `${blocks[i].heap} block at ${hex(blocks[i].mfn)} overlaps ${blocks[i - 1].heap} block [${hex(blocks[i - 1].mfn)}, ${hex(blocks[i - 1].end)})`);
  }
  let j = 0;
  for (const b of blocks) {
    while (j < runs.length && runs[j].mfn + runs[j].count <= b.mfn) j++;
    for (let k = j; k < runs.length && runs[k].mfn < b.end; k++) {
      const r = runs[k];
      rep.fail('heap-free-disjoint', `free ${b.heap} block [${hex(b.mfn)}, ${hex(b.end)}) overlaps frames ${hex(r.mfn)}..${hex(r.mfn + r.count - 1)} owned by ${r.owner === 'xen' ? 'xen' : `dom${r.owner}`} (${r.use})`);
    }
  }
}

