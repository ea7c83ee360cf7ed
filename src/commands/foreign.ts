import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { mapForeign, MapResult, unmapForeign } from '../guest/foreign';
import { PAGE_SIZE } from '../machine/constants';
import { fitText, json } from '../format/table';
import { hex } from '../format/units';
import { foreignJson } from '../format/domains';
import { parseDomid, parsePfn } from './args';
import { columns, paint, type Io } from './io';
import { changeState, stateDir } from './state_store';

export interface ForeignFlags { domid?: string; pfn?: string; from?: string; state?: string; lockTimeout?: string; json?: boolean }

function out(io: Io, f: ForeignFlags, verb: 'mapped' | 'unmapped', r: MapResult): void {
  const m = r.mapping;
  if (f.json) {
    io.out(json(foreignJson(verb === 'mapped' ? 'map' : 'unmap', r)));
    return;
  }
  const p = paint(io);
  io.out(fitText(`${p.green(verb)} dom${m.domid}'s pfn ${hex(m.pfn)} (mfn ${hex(m.mfn)}, machine ${hex(m.mfn * PAGE_SIZE)}) ${verb === 'mapped' ? 'at' : 'from'} dom${m.caller} ea ${m.ea}, HPTE slot ${hex(m.slot)}\n` +
    `page references on mfn ${hex(m.mfn)}: ${r.refs}; foreign mappings live: ${r.mappings}\n`, columns(io)));
}

/** map-foreign --domid N --pfn P [--from C]: C (default dom0) maps N's frame with H_ENTER; Xen takes a page reference. */
export function runMapForeign(io: Io, f: ForeignFlags): number {
  return runForeign(io, f, 'mapped');
}

/** unmap-foreign --domid N --pfn P [--from C]: H_REMOVE; Xen drops the page reference. */
export function runUnmapForeign(io: Io, f: ForeignFlags): number {
  return runForeign(io, f, 'unmapped');
}

function runForeign(io: Io, f: ForeignFlags, verb: 'mapped' | 'unmapped'): number {
  const domid = parseDomid(f.domid);
  const pfn = parsePfn(f.pfn);
  const from = f.from === undefined ? 0 : parseDomid(f.from, '--from');
  const dir = stateDir(io, f.state);
  const r = changeState(io, dir, f.lockTimeout, (load, save) => {
    const sys = load();
    const r = verb === 'mapped' ? mapForeign(sys, from, domid, pfn) : unmapForeign(sys, from, domid, pfn);
    save(sys);
    return r;
  });
  out(io, f, verb, r);
  return 0;
}

/** Registers `map-foreign`, `unmap-foreign` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'map-foreign', () => runMapForeign);
  ctx.declare(prog, 'unmap-foreign', () => runUnmapForeign);
}
