import * as fs from 'fs';
import * as path from 'path';
import { readFdt, FdtFormatError } from '../devtree/fdt_ro';
import { writeFdt } from '../devtree/fdt_wr';
import { bootCpuNode, machineRamFromTree } from '../devtree/ofd_fixup';
import type { DeviceTree } from '../devtree/tree';
import { formatSize } from '../util/size';
import { genericFirmwareTree } from '../machine/firmware';
import { checkProfile, MachineProfile, parseProfile } from '../machine/profile';
import { UsageError } from '../util/errors';

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
    throw new UsageError(`unknown machine '${name}'`, `use one of ${machineNames().join(', ')}, or the path of a profile JSON file`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`machine profile ${file}: ${(e as Error).message}`);
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

export function readBlobFile(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read device tree ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function parseBlob(blob: Uint8Array, file: string): DeviceTree {
  try {
    return readFdt(blob);
  } catch (e) {
    if (e instanceof FdtFormatError) throw new UsageError(`${file}: ${e.message}`, 'check the blob with `fdtdump` or `dtc -I dtb -O dts`');
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
    const total = machineRamFromTree(tree).reduce((n, r) => n + r.size, 0n);
    if (total === 0n) throw new UsageError(`${dtb}: the tree has no /memory nodes with RAM`, 'give the RAM size with --ram');
    bytes = Number(total);
  }
  const cpu = bootCpuNode(tree);
  if (!cpu) throw new UsageError(`${dtb}: the tree has no cpu under /cpus`, 'a firmware tree needs /cpus with a device_type "cpu" node');
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
