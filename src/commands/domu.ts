import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { UsageError } from '../util/errors';
import { parsePositiveSize, parseMemorySize } from '../util/size';
import { createDomU, destroyDomU } from '../builder/domu_build';
import { destroyJson, domuJson, formatCreateDomu, formatDestroy } from '../format/domains';
import { json } from '../format/table';
import { columns, paint, relativePaths, type Io } from './io';
import { parseDomid } from './args';
import { changeState, stateDir } from './state_store';

export interface CreateDomuFlags { mem?: string; maxMem?: string; rma?: string; bootargs?: string; state?: string; lockTimeout?: string; json?: boolean }

/** Save after a change: hash tables in use go back into the state first. */
export function runCreateDomu(io: Io, f: CreateDomuFlags): number {
  if (f.mem === undefined) throw new UsageError('create-domu needs --mem', 'e.g. --mem 512M');
  const mem = parseMemorySize(f.mem, '--mem');
  const maxMem = f.maxMem !== undefined ? parseMemorySize(f.maxMem, '--max-mem') : undefined;
  const rmaSize = f.rma !== undefined ? parsePositiveSize(f.rma, '--rma') : undefined;
  const dir = stateDir(io, f.state);
  const { report, files } = changeState(io, dir, f.lockTimeout, (load, save) => {
    const sys = load();
    const { report } = createDomU(sys, { mem, maxMem, rmaSize, bootargs: f.bootargs });
    return { report, files: relativePaths(io, save(sys)) };
  });
  io.out(f.json ? json(domuJson(report, { state: files.state })) : formatCreateDomu(paint(io), report, files.state, columns(io)));
  return 0;
}

export interface DestroyFlags { domid?: string; state?: string; lockTimeout?: string; json?: boolean }

export function runDestroyDomu(io: Io, f: DestroyFlags): number {
  const domid = parseDomid(f.domid);
  const dir = stateDir(io, f.state);
  const r = changeState(io, dir, f.lockTimeout, (load, save) => {
    const sys = load();
    const r = destroyDomU(sys, domid);
    save(sys);
    return r;
  });
  io.out(f.json ? json(destroyJson(r)) : formatDestroy(paint(io), r, columns(io)));
  return 0;
}


/** Registers `create-domu`, `destroy-domu` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'create-domu', () => runCreateDomu);
  ctx.declare(prog, 'destroy-domu', () => runDestroyDomu);
}
