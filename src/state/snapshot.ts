import { readFdt } from '../devtree/fdt_ro';
import { encodeHpt } from '../hpt/codec';
import { BuddyHeap } from '../machine/buddy';
import { FrameTable, OwnedRun } from '../machine/frames';
import { CHUNK_SIZE, GuestMemory } from '../machine/guest_memory';
import { Machine } from '../machine/machine';
import { ramRanges } from '../machine/memmap';
import { checkProfile, MachineProfile } from '../machine/profile';
import { Domain } from '../xen/domain';
import { checkXenP2ms, restoreXenP2m } from '../xen/shadow_p2m';
import { BuildRecord, System } from '../xen/system';
import { StateError } from '../util/errors';
import { decodeContainer, encodeContainer } from './container';
import { checkSystem } from './check';

const FORMAT = 'ppc-dombuild-state';

/**
 * The whole System as one container: JSON for the structure, sections for
 * bytes (each domain's RMA chunks, hash table, Xen p2m and guest slots).
 * Returns the pieces to write back to back (see encodeContainer); the
 * System is not changed.
 */
export function encodeState(sys: System): Uint8Array[] {
  const m = sys.machine;
  const sections = new Map<string, Uint8Array | Uint8Array[]>();
  sections.set('firmware.dtb', sys.firmwareBlob);
  const domains = [...sys.domains.values()].map((d) => {
    const used = d.memory.usedChunks();
    sections.set(`dom${d.domid}.memory`, used.map((c) => d.memory.chunks[c]!));
    // A table never decoded in this process goes back as it was read.
    const h = d.hptForSave();
    if (h.live) sections.set(`dom${d.domid}.hpt`, encodeHpt(h.live));
    else if (h.saved) sections.set(`dom${d.domid}.hpt`, h.saved);
    if (d.xenP2m) sections.set(`dom${d.domid}.xenp2m`, d.xenP2m.bytes);
    if (d.guest) sections.set(`dom${d.domid}.hidx`, d.guest.hidx);
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
      guest: d.guest?.rec ?? null,
      memoryChunks: used,
    };
  });
  const doc = {
    format: FORMAT,
    build: sys.build,
    machine: {
      profile: m.profile,
      xenHeapRanges: m.xenHeapRanges,
      xenHeapFree: m.xenHeap.free,
      domHeapFree: m.domHeap.free,
      frames: m.frames.all(),
      pageRefs: [...m.pageRefs],
    },
    domains,
    foreign: sys.foreign,
  };
  return encodeContainer(doc, sections);
}

export function decodeState(buf: Uint8Array, where: string): System {
  const { doc, sections } = decodeContainer(buf, where);
  const bad = (what: string): never => {
    throw new StateError(`state ${where} is corrupt: ${what}`, ['rebuild-state']);
  };
  if (doc.format !== FORMAT) bad(`format is '${String(doc.format)}', not ${FORMAT}`);
  try {
    const md = doc.machine as Record<string, any>;
    const profile = md.profile as MachineProfile;
    checkProfile(profile, 'in state');
    const machine = new Machine(
      profile,
      ramRanges(profile.ram),
      md.xenHeapRanges,
      BuddyHeap.fromFreeLists('xen heap', md.xenHeapFree, 'xen zone'),
      BuddyHeap.fromFreeLists('domain heap', md.domHeapFree),
      FrameTable.fromRuns(md.frames as OwnedRun[]),
      new Map(md.pageRefs as [number, number][]),
    );
    const fw = sections.get('firmware.dtb') ?? bad('no firmware.dtb section');
    const sys = new System(machine, readFdt(fw), fw);
    sys.build = doc.build as BuildRecord;
    sys.foreign = (doc.foreign ?? []) as System['foreign'];
    for (const dd of doc.domains as Record<string, any>[]) {
      const mem = new GuestMemory(num(dd.rmaBytes));
      const bytes = sections.get(`dom${dd.domid}.memory`) ?? bad(`no memory section for dom${dd.domid}`);
      const chunks = dd.memoryChunks as number[];
      if (bytes.length !== chunks.length * CHUNK_SIZE) bad(`dom${dd.domid} memory section has ${bytes.length} bytes for ${chunks.length} chunks`);
      chunks.forEach((c, i) => {
        if (!Number.isInteger(c) || c < 0 || c >= mem.chunks.length) bad(`dom${dd.domid} memory chunk ${c} is outside its RMA`);
        // Share the file's bytes when word aligned (the table is read as u32 words), else copy.
        const piece = bytes.subarray(i * CHUNK_SIZE, (i + 1) * CHUNK_SIZE);
        mem.chunks[c] = piece.byteOffset % 4 === 0 ? piece : piece.slice();
      });
      const d = new Domain(num(dd.domid), !!dd.privileged, !!dd.shadow, num(dd.maxPages), { mfn: num(dd.rma.mfn), order: num(dd.rma.order) }, mem);
      d.totPages = num(dd.totPages);
      d.extents.push(...(dd.extents as number[]).map(num));
      d.arch = dd.arch;
      d.p2mPaddr = num(dd.p2mPaddr);
      d.p2mEntries = num(dd.p2mEntries);
      d.layout = dd.layout;
      d.vcpu0 = { pc: BigInt('0x' + dd.vcpu0.pc), msr: BigInt('0x' + dd.vcpu0.msr), gprs: (dd.vcpu0.gprs as string[]).map((g) => BigInt('0x' + g)) };
      d.bootargs = String(dd.bootargs);
      d.images = dd.images;
      if (!['proposal', 'shadow', 'legacy'].includes(dd.translation)) bad(`dom${d.domid}'s translation '${String(dd.translation)}' is not proposal, shadow or legacy`);
      d.translation = dd.translation;
      if (dd.xenP2m) {
        const raw = sections.get(`dom${d.domid}.xenp2m`) ?? bad(`no Xen p2m section for dom${d.domid}`);
        d.xenP2m = restoreXenP2m({ mfn: num(dd.xenP2m.mfn), order: num(dd.xenP2m.order), entries: num(dd.xenP2m.entries) }, raw);
      }
      if (dd.domu) d.domu = dd.domu;
      if (dd.guest) d.guest = { rec: dd.guest, hidx: sections.get(`dom${d.domid}.hidx`) ?? bad(`no guest slot section for dom${d.domid}`) };
      const hpt = sections.get(`dom${d.domid}.hpt`);
      if (hpt) d.restoreHpt(hpt);
      if (d.p2mPaddr + d.p2mEntries * 4 > mem.size) bad(`dom${d.domid}'s p2m table runs past its RMA`);
      sys.domains.set(d.domid, d);
    }
    // Shadow domains (domUs, a legacy dom0) need the table Xen keeps for them.
    const xenP2mProblem = checkXenP2ms(sys);
    if (xenP2mProblem) bad(xenP2mProblem);
    const problem = checkSystem(sys); if (problem) bad(problem);
    return sys;
  } catch (e) {
    if (e instanceof StateError) throw e;
    return bad(`its contents do not hold together (${(e as Error).message})`);
  }
}

function num(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`expected an integer, found ${JSON.stringify(v)}`);
  return v;
}
