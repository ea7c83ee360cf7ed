import { decodeHpt, HptFormatError } from '../hpt/codec';
import { HashTable, type HptStats } from '../hpt/table';
import { PAGE_SIZE } from '../machine/constants';
import { GuestMemory } from '../machine/guest_memory';
import { P2mTable } from '../p2m/table';
import type { DomuLayout, RmaLayout } from '../rma/layout';
import { StateError } from '../util/errors';
import type { GuestKernelState } from './guest_state';
import type { PfnHole } from './physmap';


/** Domain ids are below DOMID_FIRST_RESERVED (xen/include/public/xen.h): the rest name Xen itself, DOMID_IO and the like. */
export const DOMID_FIRST_RESERVED = 0x7ff0;

/** vcpu0's entry state, as construct_dom0 leaves it. */
export interface VcpuContext {
  pc: bigint;
  msr: bigint;
  /** r0..r31 */
  gprs: bigint[];
}

/**
 * A hash table as a state saved it: its bytes are read (by the command
 * layer, from the file) only when the table is first used; its counts are
 * known without reading them.
 */
export interface SavedHpt {
  load(): Uint8Array;
  readonly stats: HptStats;
}

/** A block of machine frames given to a domain. */
export interface MachineBlock { mfn: number; order: number }

/**
 * How Xen reads the frame numbers a domain hands it:
 *  - `proposal`: a non-shadow (privileged) domain keeps its own table in its
 *    RMA and hands Xen machine frames; Xen checks them as they are.
 *  - `shadow`: Xen keeps the domain's table (a domU); the guest hands pfns.
 *  - `legacy`: dom0 built the pre-proposal way: Xen keeps its table too, and
 *    its pfn2mfn guesses in the historical order (IO hole, foreign bit...).
 */
export type Translation = 'proposal' | 'shadow' | 'legacy';

/** Xen's own p2m for a domain: a Xen-heap block of big-endian u32 entries, and the table over its bytes. */
export interface XenP2m {
  mfn: number;
  order: number;
  entries: number;
  table: P2mTable;
  /** The entries' bytes (entries x 4), what the state saves. */
  bytes: Uint8Array;
}

/**
 * struct domain, for what the builder needs. A non-shadow (privileged) domain
 * keeps its own p2m in its RMA; Xen only knows the table's machine address
 * (arch.p2m). A shadow domain's table is Xen's (`xenP2m`).
 */
export class Domain {
  /** Frames held in 16 MiB extents beyond the RMA, in pfn order (d->arch.extent_list). */
  readonly extents: number[] = [];
  totPages = 0;
  /** d->arch.p2m (the table's machine address) and d->arch.htab (the hash table's block). */
  arch = { p2m: 0, hpt: undefined as MachineBlock | undefined };
  /** The table's guest-physical address and entry count, for the device tree and the guest. */
  p2mPaddr = 0;
  p2mEntries = 0;
  layout?: RmaLayout;
  vcpu0: VcpuContext = { pc: 0n, msr: 0n, gprs: new Array<bigint>(32).fill(0n) };
  bootargs = '';
  /** Where the images came from (a file name, or "synthetic"). */
  images: { kernel: { source: string; bytes: number }; initrd?: { source: string; bytes: number } } = { kernel: { source: 'synthetic', bytes: 0 } };
  /** How Xen reads this domain's frame numbers. */
  translation: Translation;
  /** Xen's p2m for a shadow domain (a domU, a legacy dom0). */
  xenP2m?: XenP2m;
  /** A domU's RMA layout, the event channels its tree names, and the pages it was created with. */
  domu?: { layout: DomuLayout; evtchn: { console: number; store: number }; bootPages: number };
  /** dom0's pseudo-physical IO hole, when its map keeps one (src/xen/physmap.ts). */
  ioHole?: PfnHole;
  /** The grant table's shared frames, Xen-heap mfns in index order (t->shared[i], xen/common/grant_table.c:1311-1319 @ a046da3892). */
  grantFrames: number[] = [];
  /** What the guest kernel kept from its boot (none when it was not booted). */
  guest?: GuestKernelState;
  /** The hash table's contents: live once used, else as saved (decoded on first use). */
  private hptLive?: HashTable;
  private hptSaved?: SavedHpt;

  constructor(
    readonly domid: number,
    readonly privileged: boolean,
    /** d->is_shadow: Xen keeps this domain's p2m. */
    readonly shadow: boolean,
    public maxPages: number,
    readonly rma: MachineBlock,
    /** The RMA's bytes as the guest sees them in real mode. */
    readonly memory: GuestMemory,
  ) {
    this.translation = shadow ? 'shadow' : 'proposal';
  }

  get rmaPages(): number {
    return 2 ** this.rma.order;
  }

  get rmaBytes(): number {
    return this.memory.size;
  }

  /** The guest's view of its p2m table (in the RMA's bytes). */
  p2m(): P2mTable {
    return new P2mTable(this.memory, this.p2mPaddr, this.p2mEntries);
  }

  /** Bytes of the hash table Xen gave the domain (d->arch.htab), or undefined when it has none. */
  get hptBytes(): number | undefined {
    const h = this.arch.hpt;
    return h ? 2 ** h.order * PAGE_SIZE : undefined;
  }

  /**
   * The hash table Xen keeps for this domain: the one in use, else the saved
   * one decoded, else a new empty table of d->arch.htab's size.
   */
  get hpt(): HashTable {
    if (this.hptLive) return this.hptLive;
    if (this.hptSaved) {
      try {
        this.hptLive = decodeHpt(this.hptSaved.load());
      } catch (e) {
        if (e instanceof HptFormatError) throw new StateError(`dom${this.domid}'s ${e.message}`, ['rebuild-state']);
        throw e;
      }
      this.hptSaved = undefined;
      return this.hptLive;
    }
    const bytes = this.hptBytes;
    if (bytes === undefined) throw new Error(`dom${this.domid} has no hash table (d->arch.htab)`);
    this.hptLive = new HashTable(bytes);
    return this.hptLive;
  }

  /** The table's counts and PTEG histogram: the saved ones while it was not decoded, else counted. */
  hptStats(): HptStats {
    return this.hptSaved && !this.hptLive ? this.hptSaved.stats : this.hpt.stats();
  }

  /** Does the table hold anything yet (used, or saved)? An untouched one is all invalid. */
  get hptInUse(): boolean {
    return this.hptLive !== undefined || this.hptSaved !== undefined;
  }

  /** The table as the state saves it: the saved bytes when it was never decoded, else undefined (encode the live one). */
  hptForSave(): { live?: HashTable; saved?: SavedHpt } {
    return { live: this.hptLive, saved: this.hptSaved };
  }

  /** A table loaded from a state: decoded when first used. */
  restoreHpt(saved: SavedHpt): void {
    this.hptSaved = saved;
    this.hptLive = undefined;
  }

  /** A destroyed domain's table goes with it. */
  dropHpt(): void {
    this.hptSaved = undefined;
    this.hptLive = undefined;
  }
}
