import * as fs from 'fs';
import * as path from 'path';
import { encodeState, decodeState } from '../state/snapshot';
import { StateError } from '../util/errors';
import type { System } from '../xen/system';
import type { Io } from './io';
import { fdtTotalSize } from '../devtree/fdt_header';

export const STATE_FILE = 'state.bin';
export const DTB_EXPORT = 'dom0.dtb';
export const P2M_EXPORT = 'dom0-p2m.bin';

/** --state DIR, else $PPC_DOMBUILD_STATE, else ./.ppc-dombuild */
export function stateDir(io: Io, opt?: string): string {
  return path.resolve(io.cwd, opt ?? io.env.PPC_DOMBUILD_STATE ?? '.ppc-dombuild');
}

export function loadState(dir: string): System {
  const file = path.join(dir, STATE_FILE);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StateError(`no built state in ${dir}`, 'run `ppc-dombuild construct` first (or point --state / PPC_DOMBUILD_STATE at one)');
    throw new StateError(`cannot read state ${file}: ${(e as Error).message}`);
  }
  return decodeState(buf, file);
}

/**
 * Save the state and its exports. Each file is written to a temporary name,
 * flushed and renamed over the old one, so a crash leaves either the old file
 * or the new one whole, never half of either. The state goes first: the
 * exports are copies of what it holds.
 */
export function saveState(dir: string, sys: System): { state: string; dtb: string; p2m: string } {
  fs.mkdirSync(dir, { recursive: true });
  const state = path.join(dir, STATE_FILE);
  writeAtomic(state, encodeState(sys));
  const d = sys.dom0();
  // The exports are copies of what the state holds: renamed into place whole, not flushed.
  const dtb = path.join(dir, DTB_EXPORT);
  writeAtomic(dtb, dom0Blob(sys), false);
  const p2m = path.join(dir, P2M_EXPORT);
  writeAtomic(p2m, d.memory.slices(d.p2mPaddr, d.p2mEntries * 4), false);
  return { state, dtb, p2m };
}

/** dom0's device tree blob as it sits in its RMA (totalsize from the header). */
export function dom0Blob(sys: System): Uint8Array {
  const d = sys.dom0();
  const at = d.layout!.devtree.start;
  const head = d.memory.read(at, 8);
  const total = fdtTotalSize(head);
  const slot = d.layout!.devtree.end - at;
  return d.memory.read(at, Math.min(Math.max(total, 8), slot));
}

/** Write to a temporary name in the same directory, optionally flush, then rename over the file. */
export function writeAtomic(file: string, data: Uint8Array | Uint8Array[], flush = true): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    for (const bytes of Array.isArray(data) ? data : [data]) {
      let off = 0;
      while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
    }
    if (flush) fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}
