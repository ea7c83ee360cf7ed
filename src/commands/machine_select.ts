import * as fs from 'fs';
import * as path from 'path';
import { readFdt, FdtFormatError } from '../devtree/fdt_ro';
import { checkFdt, FdtCheckError } from '../devtree/fdt_check';
import { writeFdt } from '../devtree/fdt_wr';
import { bootCpuNode, machineRamFromTree } from '../devtree/ofd_fixup';
import { DeviceTreeError, type DeviceTree } from '../devtree/tree';
import { formatSize } from '../util/size';
import { genericFirmwareTree } from '../machine/firmware';
import { checkProfile, MachineProfile, parseProfile } from '../machine/profile';
import { UsageError } from '../util/errors';
import { quote } from '../util/quote';
import { PROFILE_FILE_LIMIT, TREE_FILE_LIMIT, readRegularFile } from './regular_file';

/** The shipped fixtures, next to dist/ (or src/ under the tests). */
export const FIXTURES_DIR = path.resolve(__dirname, '..', '..', 'fixtures');
export const MACHINES_DIR = path.join(FIXTURES_DIR, 'machines');
export const DEFAULT_MACHINE = 'js21';

export interface SelectedMachine {
  profile: MachineProfile;
  source: string;
  firmwareTree: DeviceTree;
  firmwareBlob: Uint8Array;
}

export function machineNames(): string[] {
  try {
    return fs.readdirSync(MACHINES_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

/**
 * --machine NAME|FILE (default js21), with --ram overriding the profile's RAM.
 * With --firmware-dtb the machine is that tree's: its RAM from the /memory
 * nodes (unless --ram), its cpu, the profile's other settings kept.
 */
export function selectMachine(cwd: string, machine: string | undefined, ram: number | undefined, firmwareDtb?: string): SelectedMachine {
  if (firmwareDtb !== undefined) return machineFromTree(cwd, machine, ram, firmwareDtb);
  const name = machine ?? DEFAULT_MACHINE;
  let file: string;
  if (/^[A-Za-z0-9_-]+$/.test(name) && fs.existsSync(path.join(MACHINES_DIR, `${name}.json`))) {
    file = path.join(MACHINES_DIR, `${name}.json`);
  } else if (fs.existsSync(path.resolve(cwd, name))) {
    file = path.resolve(cwd, name);
  } else {
    throw new UsageError(`unknown machine ${quote(name)}`, `use one of ${machineNames().join(', ')}, or the path of a profile JSON file`);
  }
  const text = readRegularFile(file, 'machine profile', { limit: PROFILE_FILE_LIMIT }).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`machine profile ${quote(file)}: not JSON (${(e as Error).message})`);
  }
  const profile = parseProfile(doc, file);
  if (ram !== undefined) {
    profile.ram = ram;
    checkProfile(profile, `${file} with --ram`);
  }
  const source = file.startsWith(MACHINES_DIR) ? profile.name : file;
  if (!profile.firmwareDtb) {
    const tree = genericFirmwareTree(profile);
    return { profile, source, firmwareTree: tree, firmwareBlob: writeFdt(tree) };
  }
  const dtbFile = path.resolve(path.dirname(file), profile.firmwareDtb);
  const blob = readBlobFile(dtbFile);
  return { profile, source, firmwareTree: parseBlob(blob, dtbFile), firmwareBlob: blob };
}

/** A firmware tree blob: a regular file of at most TREE_FILE_LIMIT bytes. */
export function readBlobFile(file: string): Uint8Array {
  return readRegularFile(file, 'firmware tree', { limit: TREE_FILE_LIMIT });
}

const CHECK_BLOB = 'check the blob with `fdtdump` or `dtc -I dtb -O dts`';

/** Parse a firmware tree: the reader's structure checks, then dtc's (fdt_check.ts). */
export function parseBlob(blob: Uint8Array, file: string): DeviceTree {
  try {
    const tree = readFdt(blob);
    checkFdt(tree);
    return tree;
  } catch (e) {
    if (e instanceof FdtFormatError || e instanceof FdtCheckError || e instanceof DeviceTreeError) throw new UsageError(`${file}: ${e.message}`, CHECK_BLOB);
    throw e;
  }
}

function machineFromTree(cwd: string, machine: string | undefined, ram: number | undefined, dtb: string): SelectedMachine {
  const base = selectMachine(cwd, machine, undefined);
  const file = path.resolve(cwd, dtb);
  const blob = readBlobFile(file);
  const tree = parseBlob(blob, dtb);
  let bytes = ram;
  if (bytes === undefined) {
    let total: bigint;
    try {
      total = machineRamFromTree(tree).reduce((n, r) => n + r.size, 0n);
    } catch (e) {
      if (e instanceof DeviceTreeError) throw new UsageError(`firmware tree ${quote(dtb)}: ${e.message}`, CHECK_BLOB);
      throw e;
    }
    if (total === 0n) throw new UsageError(`firmware tree ${quote(dtb)} has no /memory nodes with RAM`, 'give the RAM size with --ram');
    // fdt_check keeps every RAM range below 2^53, so the sum of disjoint ones is exact.
    bytes = Number(total);
  }
  const cpu = bootCpuNode(tree);
  if (!cpu) throw new UsageError(`firmware tree ${quote(dtb)} has no cpu under /cpus`, 'a firmware tree needs /cpus with a device_type "cpu" node');
  const profile: MachineProfile = {
    ...base.profile,
    name: path.basename(dtb).replace(/\.dtb$/, ''),
    description: `firmware tree ${dtb} (${formatSize(bytes)} RAM)`,
    cpu: cpu.name.replace(/^PowerPC,/, '').replace(/@.*$/, ''),
    ram: bytes,
  };
  delete profile.firmwareDtb;
  checkProfile(profile, `${dtb}${ram === undefined ? ' (RAM from its /memory nodes)' : ' with --ram'}`);
  return { profile, source: file, firmwareTree: tree, firmwareBlob: blob };
}
