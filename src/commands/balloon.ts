import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { balloon } from '../guest/balloon';
import { UsageError } from '../util/errors';
import { parseMemorySize } from '../util/size';
import { balloonJson, formatBalloon } from '../format/balloon';
import { json } from '../format/table';
import { balloonCallsJson, formatBalloonCalls } from '../format/balloon_calls';
import { parseDomid } from './args';
import { columns, paint, type Io } from './io';
import { changeState, stateDir } from './state_store';

export interface BalloonFlags { target?: string; domid?: string; state?: string; lockTimeout?: string; json?: boolean; trace?: boolean }

/** balloon --target SIZE [--domid N]: shrink or grow a domain (default dom0) to SIZE. */
export function runBalloon(io: Io, f: BalloonFlags): number {
  if (f.target === undefined) throw new UsageError('balloon needs --target', 'e.g. --target 3G');
  const target = parseMemorySize(f.target, '--target');
  const domid = f.domid === undefined ? 0 : parseDomid(f.domid);
  const dir = stateDir(io, f.state);
  const r = changeState(io, dir, f.lockTimeout, (load, save) => {
    const sys = load();
    const r = balloon(sys, domid, target);
    save(sys);
    return r;
  });
  if (f.trace) io.err(formatBalloonCalls(r));
  io.out(f.json ? json({ ...balloonJson(r), hypercalls: balloonCallsJson(r) }) : formatBalloon(paint(io), r, columns(io)));
  return 0;
}

/** Registers `balloon` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'balloon', () => runBalloon);
}
