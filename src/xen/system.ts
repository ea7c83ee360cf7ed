import type { DeviceTree } from '../devtree/tree';
import type { Machine } from '../machine/machine';
import type { Domain } from './domain';
import type { Dom0Report } from './domain_build';

/** How the state was built, kept so later commands can say it back. */
export interface BuildRecord {
  /** Where the machine came from: a profile name, a file, or --firmware-dtb. */
  machineSource: string;
  /** The construct options as given (sizes in bytes, placement as text). */
  options: Record<string, string | number | boolean | null>;
  report: Dom0Report;
}

/**
 * Everything the simulation holds after construct: the machine (heaps and
 * frame ownership), its domains, and the firmware tree dom0's was made from.
 * Later commands load it, change it and save it again. `extra` carries the
 * parts later stages add (the hash table, shadow p2m tables) as named blobs.
 */
export class System {
  readonly domains = new Map<number, Domain>();
  readonly extra = new Map<string, Uint8Array>();

  constructor(
    readonly machine: Machine,
    readonly firmwareTree: DeviceTree,
    readonly firmwareBlob: Uint8Array,
    public build: BuildRecord,
  ) {}

  dom0(): Domain {
    const d = this.domains.get(0);
    if (!d) throw new Error('no dom0 in this state');
    return d;
  }
}

/**
 * Per-System state a subsystem keeps in this process only (live tables
 * decoded from the state, hooks): one map per System, made on first use and
 * gone with the System.
 */
export function perSystem<T>(): (sys: System) => Map<number, T> {
  const maps = new WeakMap<System, Map<number, T>>();
  return (sys) => {
    let m = maps.get(sys);
    if (!m) {
      m = new Map();
      maps.set(sys, m);
    }
    return m;
  };
}
