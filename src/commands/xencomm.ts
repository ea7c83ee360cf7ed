import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { xencommDescriptor, xencommInline } from '../guest/xencomm';
import { formatXencommInline, xencommInlineJson } from '../format/xencomm_inline';
import { hex } from '../util/size';
import { FitError, UsageError } from '../util/errors';
import { parsePositiveSize, parseSize } from '../util/size';
import { formatXencomm, xencommJson } from '../format/xencomm';
import { json } from '../format/table';
import { columns, paint, type Io } from './io';
import { loadState, stateDir } from './state_store';

export interface XencommFlags { paddr?: string; len?: string; inline?: boolean; state?: string; json?: boolean }

export function runXencomm(io: Io, f: XencommFlags): number {
  if (f.paddr === undefined || f.len === undefined) throw new UsageError('xencomm needs --paddr and --len', 'e.g. --paddr 0x3fff000 --len 16K');
  const paddr = parseSize(f.paddr, '--paddr');
  const len = parsePositiveSize(f.len, '--len');
  const sys = loadState(stateDir(io, f.state));
  const d = sys.dom0();
  if (d.translation !== 'proposal') throw new UsageError('dom0 was built with --translation legacy: it has no p2m table of its own to translate xencomm buffers with', 'rebuild with `ppc-dombuild construct` (the proposal is the default)');
  if (f.inline) {
    const x = xencommInline(d, d.p2m(), paddr, len);
    if (x.wrong) {
      const w = x.wrong;
      throw new FitError(`an inline handle (one machine address, ${hex(x.handle)}) cannot describe dom0's buffer [${hex(paddr)}, ${hex(paddr + len)}): it crosses a machine break, and Xen would read its page ${w.page} (pfn ${hex(w.pfn)}) from mfn ${hex(w.xenMfn)}, but dom0's table maps it to mfn ${hex(w.mfn)}`, 'use a descriptor (drop --inline), or a buffer inside one machine run');
    }
    io.out(f.json ? json(xencommInlineJson(x)) : formatXencommInline(paint(io), x));
    return 0;
  }
  const x = xencommDescriptor(d, d.p2m(), paddr, len);
  io.out(f.json ? json(xencommJson(x)) : formatXencomm(paint(io), x, columns(io)));
  return 0;
}

/** Registers `xencomm` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'xencomm', () => runXencomm);
}
