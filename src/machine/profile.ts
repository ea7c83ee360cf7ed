import { UsageError } from '../util/errors';
import { MiB, parseSize, formatSize } from '../util/size';
import { EXTENT_SIZE, PAGE_SIZE } from './constants';

/** A machine profile as shipped in fixtures/machines/*.json. */
export interface MachineProfile {
  name: string;
  description: string;
  cpu: string;
  /** Bytes of RAM (laid around the IO hole). */
  ram: number;
  /** Low memory Xen boots in and keeps: [0, xenLowMemory). */
  xenLowMemory: number;
  /** Size of the Open Firmware handler image Xen loads into dom0's RMA. */
  firmwareImage: number;
  /** Room kept for dom0's flattened device tree after the firmware. */
  devtreeSlot: number;
  /** Firmware device tree (path relative to the profile), when the machine has one. */
  firmwareDtb?: string;
}

/**
 * The most RAM a simulated machine may have: 1 PiB (2^38 frames). Far past
 * what a PPC970 addresses (42-bit real addresses, 4 TiB) and past the
 * 16 TiB u32 p2m entries name, so every limit still shows; and small enough
 * that building the heaps stays bounded in time and memory.
 */
export const MAX_MACHINE_RAM = 2 ** 50;

const SIZE_FIELDS = ['ram', 'xenLowMemory', 'firmwareImage', 'devtreeSlot'] as const;

/** Check a parsed profile document; `source` names it in errors. */
export function parseProfile(doc: unknown, source: string): MachineProfile {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new UsageError(`machine profile ${source}: not a JSON object`);
  const d = doc as Record<string, unknown>;
  const str = (k: string, dflt?: string): string => {
    const v = d[k] ?? dflt;
    if (typeof v !== 'string' || !v) throw new UsageError(`machine profile ${source}: '${k}' must be a non-empty string`);
    return v;
  };
  const size = (k: string, dflt?: string): number => {
    const v = d[k] ?? dflt;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
    if (typeof v === 'string') return parseSize(v, `machine profile ${source}: ${k}`);
    throw new UsageError(`machine profile ${source}: '${k}' must be a size like "16G"`);
  };
  const p: MachineProfile = {
    name: str('name'),
    description: str('description', 'PPC970 machine'),
    cpu: str('cpu', 'PPC970'),
    ram: size('ram'),
    xenLowMemory: size('xenLowMemory', '16M'),
    firmwareImage: size('firmwareImage', '64K'),
    devtreeSlot: size('devtreeSlot', '64K'),
  };
  if (d.firmwareDtb !== undefined) p.firmwareDtb = str('firmwareDtb');
  checkProfile(p, source);
  return p;
}

export function checkProfile(p: MachineProfile, source: string): void {
  for (const k of SIZE_FIELDS) {
    if (p[k] % PAGE_SIZE !== 0) throw new UsageError(`machine profile ${source}: ${k} ${formatSize(p[k])} is not a whole number of 4 KiB pages`);
  }
  if (p.ram % EXTENT_SIZE !== 0) throw new UsageError(`machine profile ${source}: RAM ${formatSize(p.ram)} is not a whole number of 16 MiB extents`, 'give RAM like 2G, 16G, 64G');
  if (p.ram > MAX_MACHINE_RAM) throw new UsageError(`machine profile ${source}: RAM ${formatSize(p.ram)} is more than the ${formatSize(MAX_MACHINE_RAM)} a simulated machine may have`);
  if (p.ram < 256 * MiB) throw new UsageError(`machine profile ${source}: RAM ${formatSize(p.ram)} is too small to boot Xen and dom0 (at least 256 MiB)`);
  if (p.xenLowMemory < MiB) throw new UsageError(`machine profile ${source}: xenLowMemory must be at least 1 MiB`);
}
