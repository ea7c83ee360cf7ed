import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { UsageError } from '../util/errors';
import { formatHcall, hcallJson, HcallView } from '../format/hcall';
import { json } from '../format/table';
import { xenHcalls } from '../xen/hcalls/xen';
import {
  H_ANDCOND, H_AVPN, H_ENTER, H_EXACT, H_ICACHE_INVALIDATE, H_ICACHE_SYNCHRONIZE, H_READ, H_READ_4, H_REMOVE, H_SUCCESS, H_ZERO_PAGE, hcallReturnName,
} from '../xen/hcalls/papr';
import { domainOf, parseBigNumber } from './args';
import { paint, type Io } from './io';
import { changeState, loadState, stateDir } from './state_store';
import type { Domain } from '../xen/domain';
import type { System } from '../xen/system';

export interface HcallFlags { flags?: string; ptex?: string; v?: string; r?: string; avpn?: string; domid?: string; state?: string; json?: boolean; lockTimeout?: string }

const OPCODES: Record<string, number> = { H_ENTER, H_REMOVE, H_READ };
/** Flag names --flags takes besides numbers (PAPR's bit numbers from the MSB, as papr.ts spells them). */
const FLAG_NAMES: Record<string, number> = { H_EXACT, H_READ_4, H_AVPN, H_ANDCOND, H_ZERO_PAGE, H_ICACHE_INVALIDATE, H_ICACHE_SYNCHRONIZE };


/** --flags: a number, or flag names joined with | (H_EXACT|H_ZERO_PAGE). */
function parseFlags(text: string | undefined): bigint {
  if (text === undefined) return 0n;
  let v = 0n;
  for (const part of text.split('|').map((x) => x.trim())) {
    const named = FLAG_NAMES[part.toUpperCase()];
    v |= named !== undefined ? BigInt(named) : parseBigNumber(part, '--flags');
  }
  return v;
}

/** hcall NAME: one H_ENTER, H_REMOVE or H_READ as domain D against the saved state. */
export function runHcall(io: Io, name: string, f: HcallFlags): number {
  const op = name.toUpperCase();
  const opcode = OPCODES[op];
  if (opcode === undefined) throw new UsageError(`hcall '${name}' is not H_ENTER, H_REMOVE or H_READ`);
  const flags = parseFlags(f.flags);
  if (f.ptex === undefined) throw new UsageError(`${op} needs --ptex`);
  const ptex = parseBigNumber(f.ptex, '--ptex');
  const args: [string, bigint][] = [['flags', flags], ['ptex', ptex]];
  const given = (k: 'v' | 'r' | 'avpn'): boolean => f[k] !== undefined;
  if (op === 'H_ENTER') {
    if (!given('v') || !given('r')) throw new UsageError('H_ENTER needs --v and --r (the two HPTE words)');
    if (given('avpn')) throw new UsageError('H_ENTER takes no --avpn');
    args.push(['v', parseBigNumber(f.v!, '--v')], ['r', parseBigNumber(f.r!, '--r')]);
  } else {
    if (given('v') || given('r')) throw new UsageError(`${op} takes no --v or --r`);
    if (op === 'H_REMOVE') args.push(['avpn', f.avpn === undefined ? 0n : parseBigNumber(f.avpn, '--avpn')]);
    else if (given('avpn')) throw new UsageError('H_READ takes no --avpn');
  }
  const dir = stateDir(io, f.state);
  const call = (sys: System): { d: Domain; ret: number; out: bigint[] } => {
    const d = domainOf(sys, f.domid);
    if (!d.arch.hpt) throw new UsageError(`dom${d.domid} has no hash table (d->arch.htab)`);
    return { d, ...xenHcalls(sys).call(d, opcode, args.map(([, x]) => x)) };
  };
  // H_READ changes nothing and takes no lock; H_ENTER and H_REMOVE hold it from load to save.
  const { d, ret, out } = op === 'H_READ' ? call(loadState(dir)) : changeState(io, dir, f.lockTimeout, (load, save) => {
    const sys = load();
    const r = call(sys);
    if (r.ret === H_SUCCESS) save(sys);
    return r;
  });
  const names = op === 'H_ENTER' ? ['r4 (ptex)'] : op === 'H_REMOVE' ? ['r4 (old v)', 'r5 (old r)'] : out.map((_, i) => `r${4 + i} (${i % 2 === 0 ? 'v' : 'r'} of ptex ${hexN(readBase(flags, ptex) + BigInt(i >> 1))})`);
  const changed = ret === H_SUCCESS && op !== 'H_READ';
  const view: HcallView = { name: op, opcode, domid: d.domid, args, ret, retName: hcallReturnName(ret), out: out.map((x, i) => [names[i], x]), saved: changed };
  io.out(f.json ? json(hcallJson(view)) : formatHcall(paint(io), view));
  return ret === H_SUCCESS ? 0 : 1;
}

const hexN = (v: bigint): string => '0x' + v.toString(16);
/** H_READ_4 reads from ptex & ~3. */
const readBase = (flags: bigint, ptex: bigint): bigint => ((flags & BigInt(H_READ_4)) !== 0n ? ptex & ~3n : ptex);

/** Registers `hcall` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  // The runner is given the options only: the hcall's name (the argument) is kept here as the action starts.
  let name = '';
  const cmd = prog.command('hcall');
  cmd.hook('preAction', (_self, action) => {
    name = String(action.args[0] ?? '');
  });
  ctx.withStateChange(ctx.examples(cmd
    .description("make one H_ENTER, H_REMOVE or H_READ as a domain against the saved state; prints the PAPR return and the words returned; exit 0 on H_SUCCESS, 1 otherwise")
    .argument('<name>', 'H_ENTER, H_REMOVE or H_READ')
    .option('--flags <f>', 'the flags word (r4): a number, or names joined with |: H_EXACT, H_ZERO_PAGE, H_AVPN, H_ANDCOND, H_READ_4', '0')
    .option('--ptex <n>', 'the slot (r5): PTEG x 8 + slot')
    .option('--v <word>', 'H_ENTER: the HPTE v word (r6)')
    .option('--r <word>', 'H_ENTER: the HPTE r word (r7): real page number << 12 | flags')
    .option('--avpn <word>', 'H_REMOVE: the AVPN (or H_ANDCOND mask) (r6)')
    .option('--domid <n>', 'the calling domain (default 0)'), [
    ['ppc-dombuild hcall H_ENTER --ptex 0x40 --v 0xd000000000000081 --r 0x80010028', 'map IO frame 0x80010 with I|G: H_SUCCESS (with W|I|G, --r 0x80010068: H_PARAMETER)'],
    ['ppc-dombuild hcall H_READ --ptex 0x40', 'read the entry back'],
    ['ppc-dombuild hcall H_REMOVE --ptex 0x40', 'remove it'],
  ]), () => (io: Io, f: HcallFlags) => runHcall(io, name, f));
}
