import { readFdt } from '../devtree/fdt_ro';
import { hptSection } from '../hpt/codec';
import type { HptStats } from '../hpt/table';
import { BuddyHeap } from '../machine/buddy';
import { FrameTable, OwnedRun } from '../machine/frames';
import { CHUNK_SIZE, GuestMemory } from '../machine/guest_memory';
import { Machine } from '../machine/machine';
import { ramRanges } from '../machine/memmap';
import { checkProfile, MachineProfile } from '../machine/profile';
import { Domain, SavedHpt, Translation } from '../xen/domain';
import type { GuestKernelState, GuestRecord } from '../xen/guest_state';
import { checkXenP2ms, restoreXenP2m } from '../xen/shadow_p2m';
import { BuildRecord, System } from '../xen/system';
import { StateError } from '../util/errors';
import { MemoryFile, NO_DOMAIN, SECTION, SectionEntry, SectionWrite, StateContainer, writeContainer } from './container';
import { checkSystem } from './check';

const FORMAT = 'ppc-dombuild-state';
const TRANSLATIONS: readonly Translation[] = ['proposal', 'shadow', 'legacy'];

/** A section of an open state that the next save can carry over unread. */
interface Carried { entry: SectionEntry; from: StateContainer }

/** dom N's hash table in an open state: read when first used. */
class FileHpt implements SavedHpt, Carried {
  constructor(readonly from: StateContainer, readonly entry: SectionEntry, readonly stats: HptStats) {}
  load(): Uint8Array {
    return this.from.read(this.entry);
  }
}

/** The guest's slot bytes in an open state: read when first used. */
class FileGuestState implements GuestKernelState, Carried {
  private bytes?: Uint8Array;
  constructor(readonly rec: GuestRecord, readonly from: StateContainer, readonly entry: SectionEntry) {}
  get loaded(): boolean {
    return this.bytes !== undefined;
  }
  get hidx(): Uint8Array {
    return (this.bytes ??= this.from.read(this.entry));
  }
  set hidx(v: Uint8Array) {
    this.bytes = v;
  }
}

/**
 * The sections of a System, in file order: firmware, then per domain its
 * RMA chunks, hash table, Xen p2m and guest slots, then the structure
 * (last: it holds the hash tables' counts, taken as their sections are
 * written). Sections read from `from` and not touched since are carried
 * (the writer keeps or copies them without decoding). The System is not
 * changed.
 */
export function stateSections(sys: System): SectionWrite[] {
  const perDomain: SectionWrite[] = [];
  const docs: (() => DomainDoc)[] = [];
  const bytes = (kind: SectionWrite['kind'], domid: number, index: number, list: Uint8Array[]): SectionWrite => ({ kind, domid, index, length: list.reduce((n, b) => n + b.length, 0), pieces: () => list });
  const carried = (kind: SectionWrite['kind'], domid: number, index: number, c: Carried): SectionWrite => ({ kind, domid, index, carried: c.entry, from: c.from } as SectionWrite);
  for (const d of sys.domains.values()) {
    perDomain.push(...rmaSections(d));
    // A table never decoded in this process goes back as it was read.
    const h = d.hptForSave();
    let hptStats: () => HptStats | null = () => null;
    if (h.live) {
      const section = hptSection(h.live); // streamed, its counts taken on the way
      hptStats = section.stats;
      perDomain.push({ kind: SECTION.hpt, domid: d.domid, index: 0, length: undefined, estimate: section.estimate, pieces: section.pieces });
    } else if (h.saved) {
      const saved = h.saved;
      hptStats = () => saved.stats;
      perDomain.push(saved instanceof FileHpt ? carried(SECTION.hpt, d.domid, 0, saved) : bytes(SECTION.hpt, d.domid, 0, [saved.load()]));
    }
    if (d.xenP2m) perDomain.push(bytes(SECTION.xenP2m, d.domid, 0, [d.xenP2m.bytes]));
    if (d.guest) perDomain.push(d.guest instanceof FileGuestState && !d.guest.loaded ? carried(SECTION.guestSlots, d.domid, 0, d.guest) : bytes(SECTION.guestSlots, d.domid, 0, [d.guest.hidx]));
    docs.push(() => domainDoc(d, hptStats()));
  }
  // Produced when the writer reaches it, after every hash table's section (its length is known only then).
  const structureBytes = (): Uint8Array => {
    const doc: StateDoc = { format: FORMAT, build: sys.build, machine: machineDoc(sys.machine), domains: docs.map((f) => f()), foreign: sys.foreign };
    return Buffer.from(JSON.stringify(doc), 'utf8');
  };
  return [
    firmwareSection(sys),
    ...perDomain,
    { kind: SECTION.structure, domid: NO_DOMAIN, index: 0, length: undefined, pieces: () => [structureBytes()] },
  ];
}

/** The firmware blob's section. */
function firmwareSection(sys: System): SectionWrite {
  return { kind: SECTION.firmware, domid: NO_DOMAIN, index: 0, length: sys.firmwareBlob.length, pieces: () => [sys.firmwareBlob] };
}

/** A domain's RMA chunk sections: carried when read from a state and not touched since. */
function rmaSections(d: Domain): SectionWrite[] {
  const mem = d.memory;
  const fromFile = fileChunks.get(mem);
  return mem.usedChunks().map((i): SectionWrite => {
    if (fromFile && mem.isPending(i)) return { kind: SECTION.rmaChunk, domid: d.domid, index: i, carried: fromFile.entries.get(i)!, from: fromFile.from };
    const c = mem.chunk(i, false)!;
    return { kind: SECTION.rmaChunk, domid: d.domid, index: i, length: c.length, pieces: () => [c] };
  });
}

/** The whole state as one buffer (tests, small states): every section written anew. */
export function encodeState(sys: System): Uint8Array[] {
  const f = new MemoryFile();
  writeContainer(f, stateSections(sys));
  return [f.contents()];
}

/** The RMA chunks of a memory loaded from a state, by chunk number, for carrying them over. */
const fileChunks = new WeakMap<GuestMemory, { from: StateContainer; entries: Map<number, SectionEntry> }>();

/**
 * A System from an open state: the structure is read and checked now; RMA
 * chunks, hash tables and guest slots when first used.
 */
export function decodeState(src: Uint8Array | StateContainer, where: string): System {
  const c = src instanceof StateContainer ? src : StateContainer.open(new MemoryFile(src), where);
  const bad = (what: string): never => {
    throw new StateError(`state ${c.where} is corrupt: ${what}`, ['rebuild-state']);
  };
  const structure = c.find(SECTION.structure) ?? bad('no structure section');
  let doc: StateDoc;
  try {
    doc = JSON.parse(Buffer.from(c.read(structure)).toString('utf8'));
  } catch (e) {
    if (e instanceof StateError) throw e;
    return bad('structure is not JSON');
  }
  if (doc.format !== FORMAT) bad(`format is '${String(doc.format)}', not ${FORMAT}`);
  try {
    const fwEntry = c.find(SECTION.firmware) ?? bad('no firmware section');
    const fw = c.read(fwEntry);
    const sys = new System(machineOf(doc.machine), readFdt(fw), fw);
    sys.build = doc.build;
    sys.foreign = doc.foreign ?? [];
    const ids = doc.domains.map((dd) => dd.domid);
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice !== undefined) bad(`domain id ${String(twice)} appears twice`);
    for (const dd of doc.domains) {
      const d = domainOf(c, dd, bad);
      sys.domains.set(d.domid, d);
    }
    // Shadow domains (domUs, a legacy dom0) need the table Xen keeps for them.
    const xenP2mProblem = checkXenP2ms(sys);
    if (xenP2mProblem) bad(xenP2mProblem);
    // Checked whole before it is trusted, as libfdt's fdt_check_full (src/state/check.ts).
    const problem = checkSystem(sys);
    if (problem) bad(problem);
    return sys;
  } catch (e) {
    if (e instanceof StateError) throw e;
    return bad(`its contents do not hold together (${(e as Error).message})`);
  }
}

// The structure: one type and one pair of functions per saved type, so a new field is one line each way.

interface StateDoc {
  format: string;
  build?: BuildRecord;
  machine: MachineDoc;
  domains: DomainDoc[];
  foreign: System['foreign'];
}

interface MachineDoc {
  profile: MachineProfile;
  xenHeapRanges: Machine['xenHeapRanges'];
  xenHeapFree: BuddyHeap['free'];
  domHeapFree: BuddyHeap['free'];
  frames: readonly OwnedRun[];
  pageRefs: [number, number][];
}

function machineDoc(m: Machine): MachineDoc {
  return { profile: m.profile, xenHeapRanges: m.xenHeapRanges, xenHeapFree: m.xenHeap.free, domHeapFree: m.domHeap.free, frames: m.frames.all(), pageRefs: [...m.pageRefs] };
}

function machineOf(md: MachineDoc): Machine {
  checkProfile(md.profile, 'in state');
  return new Machine(
    md.profile,
    ramRanges(md.profile.ram),
    md.xenHeapRanges,
    BuddyHeap.fromFreeLists('xen heap', md.xenHeapFree, 'xen zone'),
    BuddyHeap.fromFreeLists('domain heap', md.domHeapFree),
    FrameTable.fromRuns([...md.frames]),
    new Map(md.pageRefs),
  );
}

interface DomainDoc {
  domid: number;
  privileged: boolean;
  shadow: boolean;
  maxPages: number;
  totPages: number;
  rma: Domain['rma'];
  rmaBytes: number;
  extents: number[];
  arch: { p2m: number; hpt?: Domain['arch']['hpt'] };
  p2mPaddr: number;
  p2mEntries: number;
  layout?: Domain['layout'];
  vcpu0: { pc: string; msr: string; gprs: string[] };
  bootargs: string;
  images: Domain['images'];
  translation: Translation;
  xenP2m: { mfn: number; order: number; entries: number } | null;
  domu: Domain['domu'] | null;
  /** dom0's pseudo-physical IO hole (absent in a flat map). */
  ioHole?: { start: number; end: number } | null;
  /** The grant table's shared frames (mfns; absent in older states). */
  grantFrames?: number[];
  guest: GuestRecord | null;
  /** The hash table's counts, so a summary needs none of its bytes. */
  hptStats: HptStats | null;
}

function domainDoc(d: Domain, hptStats: HptStats | null): DomainDoc {
  return {
    domid: d.domid,
    privileged: d.privileged,
    shadow: d.shadow,
    maxPages: d.maxPages,
    totPages: d.totPages,
    rma: d.rma,
    rmaBytes: d.memory.size,
    extents: d.extents,
    arch: d.arch,
    p2mPaddr: d.p2mPaddr,
    p2mEntries: d.p2mEntries,
    layout: d.layout,
    vcpu0: { pc: d.vcpu0.pc.toString(16), msr: d.vcpu0.msr.toString(16), gprs: d.vcpu0.gprs.map((g) => g.toString(16)) },
    bootargs: d.bootargs,
    images: d.images,
    translation: d.translation,
    xenP2m: d.xenP2m ? { mfn: d.xenP2m.mfn, order: d.xenP2m.order, entries: d.xenP2m.entries } : null,
    domu: d.domu ?? null,
    ioHole: d.ioHole ?? null,
    grantFrames: d.grantFrames,
    guest: d.guest?.rec ?? null,
    hptStats,
  };
}

function domainOf(c: StateContainer, dd: DomainDoc, bad: (what: string) => never): Domain {
  const domid = num(dd.domid);
  const chunks = c.all(SECTION.rmaChunk, domid);
  const entries = new Map(chunks.map((e) => [e.index, e]));
  for (const e of chunks) if (e.length !== CHUNK_SIZE) bad(`dom${domid} RMA chunk ${e.index} is ${e.length} bytes, not ${CHUNK_SIZE}`);
  const rmaBytes = num(dd.rmaBytes);
  if (chunks.some((e) => e.index * CHUNK_SIZE >= rmaBytes)) bad(`dom${domid} has an RMA chunk outside its RMA`);
  const mem = new GuestMemory(rmaBytes, { saved: chunks.map((e) => e.index), load: (i) => wordAligned(c.read(entries.get(i)!)) });
  fileChunks.set(mem, { from: c, entries });
  const d = new Domain(domid, !!dd.privileged, !!dd.shadow, num(dd.maxPages), { mfn: num(dd.rma.mfn), order: num(dd.rma.order) }, mem);
  d.totPages = num(dd.totPages);
  d.extents.push(...dd.extents.map(num));
  d.arch = { p2m: num(dd.arch.p2m), hpt: dd.arch.hpt ? { mfn: num(dd.arch.hpt.mfn), order: num(dd.arch.hpt.order) } : undefined };
  d.p2mPaddr = num(dd.p2mPaddr);
  d.p2mEntries = num(dd.p2mEntries);
  d.layout = dd.layout;
  d.vcpu0 = { pc: BigInt('0x' + dd.vcpu0.pc), msr: BigInt('0x' + dd.vcpu0.msr), gprs: dd.vcpu0.gprs.map((g) => BigInt('0x' + g)) };
  d.bootargs = String(dd.bootargs);
  d.images = dd.images;
  if (!TRANSLATIONS.includes(dd.translation)) bad(`dom${domid}'s translation '${String(dd.translation)}' is not ${TRANSLATIONS.join(', ')}`);
  d.translation = dd.translation;
  if (dd.xenP2m) {
    const e = c.find(SECTION.xenP2m, domid) ?? bad(`no Xen p2m section for dom${domid}`);
    d.xenP2m = restoreXenP2m({ mfn: num(dd.xenP2m.mfn), order: num(dd.xenP2m.order), entries: num(dd.xenP2m.entries) }, c.read(e));
  }
  if (dd.domu) d.domu = dd.domu;
  if (dd.ioHole) d.ioHole = { start: num(dd.ioHole.start), end: num(dd.ioHole.end) };
  if (dd.grantFrames) d.grantFrames = dd.grantFrames.map(num);
  if (dd.guest) d.guest = new FileGuestState(dd.guest, c, c.find(SECTION.guestSlots, domid) ?? bad(`no guest slot section for dom${domid}`));
  const hpt = c.find(SECTION.hpt, domid);
  if (hpt) d.restoreHpt(new FileHpt(c, hpt, dd.hptStats ?? bad(`dom${domid}'s hash table has no counts`)));
  if (d.p2mPaddr + d.p2mEntries * 4 > mem.size) bad(`dom${domid}'s p2m table runs past its RMA`);
  return d;
}

/** The p2m table reads chunks as u32 words: a chunk must start on a word. */
function wordAligned(b: Uint8Array): Uint8Array {
  return b.byteOffset % 4 === 0 ? b : b.slice();
}

function num(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`expected an integer, found ${JSON.stringify(v)}`);
  return v;
}
