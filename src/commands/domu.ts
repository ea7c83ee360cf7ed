import { UsageError } from '../util/errors';
import { parsePositiveSize } from '../util/size';
import { createDomU, destroyDomU } from '../builder/domu_build';
import { domuJson, formatCreateDomu, formatDestroy } from '../format/domains';
import { json } from '../format/table';
import { paint, type Io } from './io';
import { parseDomid } from './args';
import { loadState, saveState, stateDir } from './state_store';

export interface CreateDomuFlags { mem?: string; maxMem?: string; rma?: string; bootargs?: string; state?: string; json?: boolean }

/** Save after a change: hash tables in use go back into the state first. */
export function runCreateDomu(io: Io, f: CreateDomuFlags): number {
  if (f.mem === undefined) throw new UsageError('create-domu needs --mem', 'e.g. --mem 512M');
  const mem = parsePositiveSize(f.mem, '--mem');
  const maxMem = f.maxMem !== undefined ? parsePositiveSize(f.maxMem, '--max-mem') : undefined;
  const rmaSize = f.rma !== undefined ? parsePositiveSize(f.rma, '--rma') : undefined;
  const dir = stateDir(io, f.state);
  const sys = loadState(dir);
  const { report } = createDomU(sys, { mem, maxMem, rmaSize, bootargs: f.bootargs });
  const files = saveState(dir, sys);
  io.out(f.json ? json(domuJson(report, { state: files.state })) : formatCreateDomu(paint(io), report, files.state));
  return 0;
}

export interface DestroyFlags { domid?: string; state?: string; json?: boolean }

export function runDestroyDomu(io: Io, f: DestroyFlags): number {
  const domid = parseDomid(f.domid);
  const dir = stateDir(io, f.state);
  const sys = loadState(dir);
  const r = destroyDomU(sys, domid);
  saveState(dir, sys);
  io.out(f.json ? json(r) : formatDestroy(paint(io), r));
  return 0;
}

