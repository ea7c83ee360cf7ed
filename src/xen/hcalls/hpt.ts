import { EXTENT_PAGES, INVALID_MFN, PAGE_SIZE } from '../../machine/constants';
import type { FrameTable, OwnedRun } from '../../machine/frames';
import type { Machine } from '../../machine/machine';
import {
  HPTE_R_G,
  HPTE_R_I,
  HPTE_R_LO_RESERVED,
  HPTE_R_RPN_SHIFT,
  HPTE_R_W,
  rpnOf,
  HPTE_V_AVPN_SHIFT,
  HPTE_V_LARGE,
  HPTE_V_RESERVED,
  HPTE_V_VALID,
  HPTES_PER_GROUP,
} from '../../hpt/constants';
import type { HashTable } from '../../hpt/table';
import type { Domain } from '../domain';
import { grantDomainOfUse } from '../grant_table';
import { pfn2mfn } from '../pfn2mfn';
import { getPageRef, pageRefCount, putPageRef } from './page_refs';
import {
  H_ANDCOND,
  H_AVPN,
  H_ENTER,
  H_EXACT,
  H_FUNCTION,
  H_NOT_FOUND,
  H_PARAMETER,
  H_PRIVILEGE,
  H_PTEG_FULL,
  H_READ,
  H_RESCINDED,
  H_READ_4,
  H_REMOVE,
  H_SUCCESS,
  H_ZERO_PAGE,
} from './papr';

/** Xen's p2m of a shadow domain: pfn -> mfn, INVALID_MFN where nothing is mapped. */
export type ShadowP2m = (pfn: number) => number;

/** What an RPN names, once Xen has checked it. */
export const FrameKind = {
  /** A frame the caller owns. */
  Own: 0,
  /** MMIO in the IO hole. */
  Io: 1,
  /** Another domain's frame: a foreign mapping holding a page reference. */
  Foreign: 2,
  /**
   * A grant-table frame (a Xen-heap page shared with a domain): under the
   * proposal named by its machine frame (a Xen-owned `grant domN` run).
   */
  Grant: 3,
} as const;

const TWO20 = 2 ** 20;

/**
 * Xen's hash table hypercalls, H_ENTER / H_REMOVE / H_READ, under the
 * proposal: for a non-shadow domain the RPN it passes is a machine frame and
 * Xen checks what that frame is; for a shadow domain it is a pfn that Xen
 * translates through its own p2m first.
 *
 * Each handler returns the PAPR return code (r3) and leaves its outputs in
 * this object's fields, as the hcall would in r4.. (64-bit words as 32-bit
 * halves, so the insert path never builds a BigInt). `call()` is the same
 * thing with BigInt arguments, for tests and cold paths.
 */
export class HptHcalls {
  /** H_ENTER: the slot used (r4). */
  ptex = 0;
  /** H_REMOVE: the old v and r words (r4, r5). */
  vHi = 0;
  vLo = 0;
  rHi = 0;
  rLo = 0;
  /** H_READ: (v hi, v lo, r hi, r lo) per entry read, `readCount` entries. */
  readonly words = new Uint32Array(16);
  readCount = 0;

  // The last domain's table (tables are looked up once per domain, see tableFor).
  private lastDom: Domain | undefined;
  private lastTable: HashTable | undefined;
  // The last domain again when it is not a shadow domain (enter's fast path), its domid and table size.
  private fastDom: Domain | undefined;
  private fastDomid = -1;
  private fastSlots = 0;
  // Who owns each frame (the machine's table, for the life of the machine).
  private readonly frames: FrameTable;

  constructor(
    readonly machine: Machine,
    private readonly tableOf: (d: Domain) => HashTable,
    private readonly shadowP2mOf: (d: Domain) => ShadowP2m | undefined = () => undefined,
    /** Can a reference be taken on this frame: its owner exists and is not dying (get_domain, get_page)? */
    private readonly referenceable: (mfn: number) => boolean = () => true,
  ) {
    this.frames = machine.frames;
  }

  /**
   * H_ENTER(flags, ptex, v, r). Without H_EXACT the first invalid slot of
   * PTEG ptex & ~7 is taken; with it, slot ptex or H_PTEG_FULL. The slot is
   * left in `this.ptex`.
   */
  enter(d: Domain, flags: number, ptex: number, vHi: number, vLo: number, rHi: number, rLo: number): number {
    // The fast path, what a booting kernel does a million times: the last
    // caller again (non-shadow, its table and domid at hand), no flags, a
    // valid 4 KiB entry in range, naming a frame in a 16 MiB extent the frame
    // table says is wholly the caller's (its map is empty after any change of
    // ownership: then, and for everything else, the full checks below).
    // Literal constants on this path: 5 = VALID | LARGE, 1 = VALID, 0x3fffff = the RPN's
    // high bits (pp0 and ts cleared), 0x60 = the v word's lock and res, 0xc00 = the r word's res2
    // (what Xen clears, papr/xlate.c:223-230 @ 1aa3c54a31^).
    if (d === this.fastDom && flags === 0 && (vLo & 5) === 1 && (ptex >>> 0) === ptex && ptex < this.fastSlots) {
      // The RPN's extent, rpnOf(rHi, rLo) >>> 12 in int32 (exact for all 42 bits).
      const extent = ((rHi & 0x3fffff) << 8) | (rLo >>> 24);
      const owners = this.frames.extentOwnersIfCurrent;
      if (extent < owners.length && owners[extent] === this.fastDomid) {
        const slot = this.lastTable!.insertInGroup(ptex - (ptex & 7), vHi, vLo & ~0x60, rHi & 0x3fffff, rLo & ~0xc00);
        if (slot < 0) return H_PTEG_FULL;
        this.ptex = slot;
        return H_SUCCESS;
      }
    }
    const t = d === this.lastDom ? this.lastTable! : this.tableFor(d);
    return this.enterChecked(t, d, flags, ptex, vHi, vLo, rHi, rLo);
  }

  /**
   * H_ENTER with every check, in the order of Xen's pte_enter
   * (xen/arch/powerpc/papr/xlate.c:136-316 @ 1aa3c54a31^), the RPN
   * classified and the flags honoured.
   */
  private enterChecked(t: HashTable, d: Domain, flags: number, ptex: number, vHi: number, vLo: number, rHi: number, rLo: number): number {
    // Xen's bound is `ptex > 1 << log_num_ptes` (xlate.c:155), one past the end: `>=` is right.
    if (!(ptex >= 0 && ptex < t.slots) || ptex !== Math.floor(ptex)) return H_PARAMETER;
    if ((vLo & HPTE_V_VALID) === 0) return H_PARAMETER; // an invalid entry could never be removed (Xen accepts it)
    const large = (vLo & HPTE_V_LARGE) !== 0;
    let rpn = rpnOf(rHi, rLo);
    let pages = 1;
    if (large) {
      // xlate.c:164-183: the large page's size is the count of the RPN's low
      // 1-bits, lp_size; it must be below d->arch.large_page_sizes, which is 1
      // on the 970 (one large size, 16 MiB: powerpc64/ppc970.c:90-92, 115-125),
      // so the RPN's lowest bit must be 0. Then the RPN is masked to the large
      // page (xlate.c:188-189): its low 12 bits go.
      if ((rLo & (1 << HPTE_R_RPN_SHIFT)) !== 0) return H_PARAMETER;
      rpn -= rpn % EXTENT_PAGES;
      pages = EXTENT_PAGES;
    }
    let mfn = rpn;
    if (d.shadow) {
      mfn = this.shadowTranslate(d, rpn, pages);
      if (mfn === INVALID_MFN) return H_PARAMETER;
    }
    const kind = this.classify(d, mfn, pages);
    if (kind < 0) return kind;
    // IO needs W=0, I=1, G=1 (xlate.c:203-213).
    if (kind === FrameKind.Io && ((rLo & HPTE_R_W) !== 0 || (rLo & HPTE_R_I) === 0 || (rLo & HPTE_R_G) === 0)) return H_PARAMETER;
    // Grant-table frames are mapped cacheable: I=0, G=0 forced (xlate.c:214-219).
    let rl = rLo;
    if (kind === FrameKind.Grant) rl &= ~(HPTE_R_I | HPTE_R_G);
    // A foreign page's reference: get_domain then get_page, else H_Rescinded (xlate.c:232-247).
    if (kind === FrameKind.Foreign && !this.referenceable(mfn)) return H_RESCINDED;

    // Reserved bits cleared: v's lock and res (xlate.c:223-225), r's pp0, ts (the high half
    // rebuilt from the mfn) and res2 (xlate.c:227-230). Words are int32 halves.
    const nvLo = vLo & ~HPTE_V_RESERVED;
    const nrHi = Math.floor(mfn / TWO20);
    const nrLo = (mfn << 12) | (rl & 0xfff & ~HPTE_R_LO_RESERVED);
    let slot: number;
    if (flags === 0) {
      // The common case (Linux passes no flags): first free slot of the group.
      slot = t.insertInGroup(ptex - (ptex % HPTES_PER_GROUP), vHi, nvLo, nrHi, nrLo);
      if (slot < 0) return H_PTEG_FULL;
    } else {
      if (Math.floor(flags / H_EXACT) % 2 === 1) {
        slot = ptex;
        if (t.isValid(slot)) return H_PTEG_FULL;
      } else {
        slot = t.freeSlotInGroup(ptex - (ptex % HPTES_PER_GROUP));
        if (slot < 0) return H_PTEG_FULL;
      }
      // H_ZERO_PAGE clears the page: one 4 KiB page, or the 4096 of a 16 MiB one. (Xen's loop,
      // xlate.c:256-265, clears `1 << pgshift` pages, 4096 times too many: a historical bug.)
      if (((flags >>> 0) & H_ZERO_PAGE) !== 0 && kind !== FrameKind.Io) this.zeroPages(d, mfn, pages);
      t.write(slot, vHi, nvLo, nrHi, nrLo);
    }
    if (kind === FrameKind.Foreign) getPageRef(this.machine, mfn);
    this.ptex = slot;
    return H_SUCCESS;
  }

  /**
   * H_REMOVE(flags, ptex, avpn), as Xen's pte_remove (xlate.c:497-559 @
   * 1aa3c54a31^): H_AVPN (v >> 7 must equal avpn >> 7, :516-519) and
   * H_ANDCOND (avpn & v must be 0, :521-524) are checked first, on whatever
   * the slot holds; then the old words are returned and the slot cleared.
   * An invalid slot is not an error: Xen clears it and returns H_SUCCESS
   * (PAPR and QEMU say H_NOT_FOUND). A valid foreign frame's reference is
   * dropped (:538-549).
   */
  remove(d: Domain, flags: number, ptex: number, avpnHi: number, avpnLo: number): number {
    const t = d === this.lastDom ? this.lastTable! : this.tableFor(d);
    if (!(ptex >= 0 && ptex < t.slots) || ptex !== Math.floor(ptex)) return H_PARAMETER;
    const vHi = t.vHi(ptex);
    const vLo = t.vLo(ptex);
    const lo = flags >>> 0;
    if ((lo & H_AVPN) !== 0 && (vHi !== avpnHi >>> 0 || vLo >>> HPTE_V_AVPN_SHIFT !== avpnLo >>> HPTE_V_AVPN_SHIFT)) return H_NOT_FOUND;
    if ((lo & H_ANDCOND) !== 0 && ((vHi & avpnHi) !== 0 || (vLo & avpnLo) !== 0)) return H_NOT_FOUND;
    this.vHi = vHi;
    this.vLo = vLo;
    this.rHi = t.rHi(ptex);
    this.rLo = t.rLo(ptex);
    if ((vLo & HPTE_V_VALID) === 0) {
      t.clear(ptex);
      return H_SUCCESS;
    }
    t.clear(ptex);
    const mfn = rpnOf(this.rHi, this.rLo);
    const owner = this.frames.ownerOf(mfn);
    if (typeof owner === 'number' && owner !== d.domid && pageRefCount(this.machine, mfn) > 0) putPageRef(this.machine, mfn);
    return H_SUCCESS;
  }

  /** H_READ(flags, ptex): one entry, or four from ptex & ~3 with H_READ_4, into `words`. */
  read(d: Domain, flags: number, ptex: number): number {
    const t = d === this.lastDom ? this.lastTable! : this.tableFor(d);
    let n = 1;
    if (flags !== 0 && Math.floor(flags / H_READ_4) % 2 === 1) {
      ptex -= ptex % 4;
      n = 4;
    }
    if (!(ptex >= 0 && ptex < t.slots) || ptex !== Math.floor(ptex)) return H_PARAMETER;
    for (let i = 0; i < n; i++) {
      this.words[i * 4] = t.vHi(ptex + i);
      this.words[i * 4 + 1] = t.vLo(ptex + i);
      this.words[i * 4 + 2] = t.rHi(ptex + i);
      this.words[i * 4 + 3] = t.rLo(ptex + i);
    }
    this.readCount = n;
    return H_SUCCESS;
  }

  /** The hcall with 64-bit arguments and results: H_ENTER, H_REMOVE or H_READ. */
  call(d: Domain, opcode: number, args: bigint[]): { ret: number; out: bigint[] } {
    const a = (i: number): bigint => args[i] ?? 0n;
    const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);
    const lo = (v: bigint): number => Number(v & 0xffffffffn);
    const word = (h: number, l: number): bigint => (BigInt(h) << 32n) | BigInt(l >>> 0);
    const flags = Number(a(0) & ((1n << 53n) - 1n));
    const ptex = a(1) > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(a(1));
    switch (opcode) {
      case H_ENTER: {
        const ret = this.enter(d, flags, ptex, hi(a(2)), lo(a(2)), hi(a(3)), lo(a(3)));
        return { ret, out: ret === H_SUCCESS ? [BigInt(this.ptex)] : [] };
      }
      case H_REMOVE: {
        const ret = this.remove(d, flags, ptex, hi(a(2)), lo(a(2)));
        return { ret, out: ret === H_SUCCESS ? [word(this.vHi, this.vLo), word(this.rHi, this.rLo)] : [] };
      }
      case H_READ: {
        const ret = this.read(d, flags, ptex);
        const out: bigint[] = [];
        if (ret === H_SUCCESS) for (let i = 0; i < this.readCount; i++) out.push(word(this.words[i * 4], this.words[i * 4 + 1]), word(this.words[i * 4 + 2], this.words[i * 4 + 3]));
        return { ret, out };
      }
      default:
        return { ret: H_FUNCTION, out: [] };
    }
  }

  /**
   * The domain's table, from the provider once per domain: a table object is
   * the domain's for the life of this handler (a later stage replacing one
   * makes a new HptHcalls).
   */
  private tableFor(d: Domain): HashTable {
    const t = this.tableOf(d);
    this.lastDom = d;
    this.lastTable = t;
    // A domain's domid and shadow flag never change (readonly): read once.
    this.fastDom = d.shadow ? undefined : d;
    this.fastDomid = d.domid;
    this.fastSlots = t.slots;
    return t;
  }

  /**
   * What [mfn, mfn + pages) is to caller d: its own frames, IO, another
   * domain's, or a grant-table frame; or the PAPR error for anything else (free, Xen's other pages, beyond RAM,
   * or a page straddling owners).
   */
  classify(d: Domain, mfn: number, pages: number): number {
    const end = mfn + pages;
    // Inside one 16 MiB extent wholly the caller's: its own, without the lookup.
    const extent = Math.floor(mfn / EXTENT_PAGES);
    if (end <= (extent + 1) * EXTENT_PAGES && this.frames.extentOwners()[extent] === d.domid) return FrameKind.Own;
    return this.classifyRun(d, mfn, end, pages);
  }

  /** classify() past the extent map: kept apart so the hot path stays small. */
  private classifyRun(d: Domain, mfn: number, end: number, pages: number): number {
    const run = this.frames.lookup(mfn);
    if (run !== undefined) {
      if (end > run.mfn + run.count && !this.sameOwnerThrough(run, end)) return H_PARAMETER;
      if (run.owner === d.domid) return FrameKind.Own;
      if (run.owner === 'xen') {
        // A grant-table frame, named by its machine frame under the proposal. The
        // legacy pfn2mfn finds only the caller's own table's frames
        // (mm.c:434-443 @ 1aa3c54a31^: gnttab_shared_mfn(d, d->grant_table, ..)),
        // and only a privileged domain reaches another domain's pages at all
        // (mm.c:466-482, xlate.c:197-202): so the caller's own, or anyone's for
        // dom0. 4 KiB only; I=G=0 is forced by the caller (xlate.c:214-219).
        const of = grantDomainOfUse(run.use);
        if (of === undefined || pages !== 1) return H_PARAMETER;
        return of === d.domid || d.privileged ? FrameKind.Grant : H_PRIVILEGE;
      }
      if (!d.privileged) return H_PRIVILEGE;
      // Foreign mappings are 4 KiB pages: one reference per mapping.
      return pages === 1 ? FrameKind.Foreign : H_PARAMETER;
    }
    if (this.machine.isIo(mfn)) {
      if (!this.machine.isIo(end - 1)) return H_PARAMETER;
      return d.privileged ? FrameKind.Io : H_PRIVILEGE;
    }
    return H_PARAMETER;
  }

  /** Do the runs from `run` on cover [run.mfn, end) without a gap, all with run's owner? */
  private sameOwnerThrough(run: OwnedRun, end: number): boolean {
    let at = run.mfn + run.count;
    while (at < end) {
      const next = this.frames.lookup(at);
      if (!next || next.owner !== run.owner) return false;
      at = next.mfn + next.count;
    }
    return true;
  }

  /** A shadow domain's pfn through Xen's p2m; a large page needs 4096 contiguous, aligned frames. */
  private shadowTranslate(d: Domain, pfn: number, pages: number): number {
    const p2m = this.shadowP2mOf(d);
    const mfn = pfn2mfn(d, pfn, p2m);
    if (mfn === INVALID_MFN || pages === 1) return mfn;
    if (mfn % pages !== 0) return INVALID_MFN;
    for (let i = 1; i < pages; i++) if (pfn2mfn(d, pfn + i, p2m) !== mfn + i) return INVALID_MFN;
    return mfn;
  }

  /** H_ZERO_PAGE: the simulation holds the bytes of the caller's RMA only; other frames have no contents to clear. */
  private zeroPages(d: Domain, mfn: number, pages: number): void {
    const first = Math.max(mfn, d.rma.mfn);
    const end = Math.min(mfn + pages, d.rma.mfn + d.rmaPages);
    if (first < end) d.memory.write((first - d.rma.mfn) * PAGE_SIZE, new Uint8Array((end - first) * PAGE_SIZE));
  }
}
