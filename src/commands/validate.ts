import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { CheckError } from '../util/errors';
import { validateBuilt } from '../builder/validate';
import { formatValidation, validationJson } from '../format/validate';
import { json } from '../format/table';
import { columns, paint, type Io } from './io';
import { exportsMatch, loadState, stateDir } from './state_store';

export interface ValidateFlags { state?: string; json?: boolean }

/** `validate`: the report on stdout; exit 0 when every invariant holds, else 1 (after the report). */
export function runValidate(io: Io, f: ValidateFlags): number {
  const dir = stateDir(io, f.state);
  const sys = loadState(dir);
  const report = validateBuilt(sys);
  // The exports are files beside the state: checked here, where files are read.
  const ex = exportsMatch(dir, sys);
  report.invariants.push({
    name: 'exports-match',
    what: 'dom0.dtb and dom0-p2m.bin hold what the state says (dom0\'s device tree and table)',
    status: ex === undefined ? 'skipped' : ex.problems.length ? 'broken' : 'ok',
    checked: ex?.checked ?? 0,
    problems: ex?.problems.length ?? 0,
    samples: ex?.problems ?? [],
    ...(ex === undefined ? { note: 'no exports in the state folder' } : {}),
  });
  report.ok = report.invariants.every((r) => r.status !== 'broken');
  io.out(f.json ? json(validationJson(report)) : formatValidation(paint(io), report, columns(io)));
  if (!report.ok) {
    const broken = report.invariants.filter((r) => r.status === 'broken').map((r) => r.name);
    throw new CheckError(`${broken.length} invariant(s) broken: ${broken.join(', ')}`);
  }
  return 0;
}

/** Registers `validate` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'validate', () => runValidate);
}
