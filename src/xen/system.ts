import type { DeviceTree } from '../devtree/tree';
import type { Machine } from '../machine/machine';
import type { Domain } from './domain';

/** How the state was built, kept so later commands can say it back. */
export interface BuildRecord {
  /** Where the machine came from: a profile name, a file, or a firmware tree. */
  machineSource: string;
  /** The construct options as given (sizes in bytes, placement as text). */
  options: Record<string, string | number | boolean | null>;
  report: Dom0Report;
}

/** What construct_dom0 decided, beyond the domain itself (saved with the machine, said back by later commands). */
export interface Dom0Report {
  memBytes: number;
  maxPages: number;
  /** The platform's limit for this placement, in whole extents. */
  platformLimitBytes: number;
  /** Why max_pages is what it is. */
  maxMemSource: 'option' | 'machine RAM' | 'placement capacity';
  hptBytes: number;
  devtreeBytes: number;
  extentsAllocated: number;
  notes: string[];
}

/**
 * A foreign mapping: a privileged domain's H_ENTER of another domain's
 * frame, which holds a reference on that page until its H_REMOVE.
 */
export interface ForeignMapping {
  /** The mapping domain. */
  caller: number;
  /** Whose frame, and its pfn there. */
  domid: number;
  pfn: number;
  mfn: number;
  /** Effective address in the caller's ioremap region, hex. */
  ea: string;
  /** The HPTE slot H_ENTER returned. */
  slot: number;
}

/**
 * Everything the simulation holds: the machine (heaps and frame ownership),
 * its domains, the firmware tree dom0's was made from, and the foreign
 * mappings in force. Made before any domain is built, as Xen's
 * construct_dom0 receives a domain that already exists; later commands load
 * it, change it and save it again.
 */
export class System {
  readonly domains = new Map<number, Domain>();
  foreign: ForeignMapping[] = [];
  build?: BuildRecord;

  constructor(
    readonly machine: Machine,
    readonly firmwareTree: DeviceTree,
    readonly firmwareBlob: Uint8Array,
  ) {}

  dom0(): Domain {
    const d = this.domains.get(0);
    if (!d) throw new Error('no dom0 in this state');
    return d;
  }
}
