import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { DEFAULT_RMA_SIZE, rmlsOf } from '../machine/cpu';
import { UsageError } from '../util/errors';
import { MiB, GiB, parsePositiveSize, parseMemorySize } from '../util/size';
import { runAudit } from '../builder/audit';
import { runSweep } from '../builder/audit_sweep';
import type { AuditMachine } from '../xen/audit';
import { auditJson, formatAudit, formatSweep, sweepJson } from '../format/audit';
import { json } from '../format/table';
import { formatInlineAudit, inlineAuditJson } from '../format/xencomm_inline';
import { columns, paint, type Io } from './io';
import { selectMachine } from './machine_select';
import { parseCount } from './args';
import { loadState, stateDir } from './state_store';

export interface AuditFlags { mem?: string; domus?: string; domuMem?: string; rma?: string; machine?: string; ram?: string; state?: string; sweep?: boolean; json?: boolean; timing?: boolean }

export const AUDIT_DEFAULT_MEM = 4 * GiB;
export const AUDIT_DEFAULT_DOMUS = 2;
export const AUDIT_DEFAULT_DOMU_MEM = 128 * MiB;

/**
 * ppc-dombuild audit: build the machine both ways in memory (never the saved
 * state) and classify every number Xen can be handed. The machine is
 * --machine/--ram (default js21), or with --state the one that state was
 * built on (read, not changed). Exit 1 if the proposal misreads anything.
 */
export function runAuditCommand(io: Io, f: AuditFlags): number {
  const domus = f.domus === undefined ? AUDIT_DEFAULT_DOMUS : parseCount(f.domus, '--domus', 0, 64);
  const domuMem = f.domuMem !== undefined ? parseMemorySize(f.domuMem, '--domu-mem') : AUDIT_DEFAULT_DOMU_MEM;
  const rmaSize = f.rma !== undefined ? parsePositiveSize(f.rma, '--rma') : DEFAULT_RMA_SIZE;
  rmlsOf(rmaSize);
  if (f.sweep && f.mem !== undefined) throw new UsageError('--sweep with --mem', '--sweep tries every dom0 size itself');
  let machine: AuditMachine;
  if (f.state !== undefined) {
    if (f.machine !== undefined || f.ram !== undefined) throw new UsageError('--state with --machine or --ram', 'the state names its machine');
    const sys = loadState(stateDir(io, f.state));
    machine = { profile: { ...sys.machine.profile }, firmwareTree: sys.firmwareTree };
  } else {
    const ram = f.ram !== undefined ? parseMemorySize(f.ram, '--ram') : undefined;
    const sel = selectMachine(io.cwd, f.machine, ram);
    machine = { profile: sel.profile, firmwareTree: sel.firmwareTree };
  }
  const common = { domus, domuMem, rmaSize };
  if (f.sweep) {
    const t0 = performance.now();
    const r = runSweep(machine, common);
    const ms = f.timing ? performance.now() - t0 : undefined;
    io.out(f.json ? json(sweepJson(r, ms)) : formatSweep(paint(io), r, columns(io), ms));
    return r.points.some((pt) => Object.values(pt.proposal).some((n) => n > 0)) ? 1 : 0;
  }
  const mem = f.mem !== undefined ? parseMemorySize(f.mem, '--mem') : AUDIT_DEFAULT_MEM;
  const t0 = performance.now();
  const r = runAudit(machine, { ...common, dom0Mem: mem });
  const ms = f.timing ? performance.now() - t0 : undefined;
  io.out(f.json ? json({ ...auditJson(r, ms), inlineXencomm: inlineAuditJson(r.inline) }) : formatAudit(paint(io), r, columns(io), ms) + formatInlineAudit(r.inline));
  return r.schemes.proposal.misread > 0 ? 1 : 0;
}

/** Registers `audit` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'audit', () => runAuditCommand);
}
