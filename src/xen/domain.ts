import { GuestMemory } from '../machine/guest_memory';
import { P2mTable } from '../p2m/table';
import type { RmaLayout } from '../rma/layout';

/** vcpu0's entry state, as construct_dom0 leaves it. */
export interface VcpuContext {
  pc: bigint;
  msr: bigint;
  /** r0..r31 */
  gprs: bigint[];
}

/** A block of machine frames given to a domain. */
export interface MachineBlock { mfn: number; order: number }

/**
 * struct domain, for what the builder needs. A non-shadow (privileged) domain
 * keeps its own p2m in its RMA; Xen only knows the table's machine address
 * (arch.p2m). A shadow domain's table is Xen's.
 */
export class Domain {
  /** Frames held in 16 MiB extents beyond the RMA, in pfn order (d->arch.extent_list). */
  readonly extents: number[] = [];
  totPages = 0;
  arch = { p2m: 0, htab: undefined as MachineBlock | undefined };
  /** The table's guest-physical address and entry count, for the device tree and the guest. */
  p2mGpa = 0;
  p2mEntries = 0;
  layout?: RmaLayout;
  vcpu0: VcpuContext = { pc: 0n, msr: 0n, gprs: new Array<bigint>(32).fill(0n) };
  bootargs = '';
  /** Where the images came from (a file name, or "synthetic"). */
  images: { kernel: { source: string; bytes: number }; initrd?: { source: string; bytes: number } } = { kernel: { source: 'synthetic', bytes: 0 } };

  constructor(
    readonly domid: number,
    readonly privileged: boolean,
    /** d->is_shadow: Xen keeps this domain's p2m. */
    readonly shadow: boolean,
    public maxPages: number,
    readonly rma: MachineBlock,
    /** The RMA's bytes as the guest sees them in real mode. */
    readonly memory: GuestMemory,
  ) {}

  get rmaPages(): number {
    return 2 ** this.rma.order;
  }

  get rmaBytes(): number {
    return this.memory.size;
  }

  /** The guest's view of its p2m table (in the RMA's bytes). */
  p2m(): P2mTable {
    return new P2mTable(this.memory, this.p2mGpa, this.p2mEntries);
  }
}
