import { Command, CommanderError } from 'commander';
import { cliContext, type CliContext } from './commands/cli_context';
import { DombuildError, EXIT_USAGE } from './util/errors';
import { processIo, paint, type Io } from './commands/io';
import { hintText } from './commands/hints';
import { errorCode, errorJson } from './format/error';
import { json } from './format/table';

// One version, the package's (dist/cli.js and src/cli.ts both sit one level below it).
const VERSION: string = require('../package.json').version;

/** A command module: it registers its command(s) and runs them. */
interface CommandModule { register(prog: Command, ctx: CliContext): void }

/** Which module registers each top-level command. */
const MODULES: Record<string, () => CommandModule> = {
  construct: () => require('./commands/construct'),
  inspect: () => require('./commands/inspect'),
  validate: () => require('./commands/validate'),
  limits: () => require('./commands/limits'),
  'create-domu': () => require('./commands/domu'),
  'destroy-domu': () => require('./commands/domu'),
  list: () => require('./commands/list'),
  audit: () => require('./commands/audit'),
  xencomm: () => require('./commands/xencomm'),
  'map-foreign': () => require('./commands/foreign'),
  'unmap-foreign': () => require('./commands/foreign'),
  balloon: () => require('./commands/balloon'),
  report: () => require('./commands/report'),
};

/**
 * The modules to load: only the named command's when the first word is one
 * (a run loads just what it uses), else all of them (help, a typo).
 */
function commandModules(argv: string[]): CommandModule[] {
  const first = argv.find((a) => !a.startsWith('-'));
  const names = first !== undefined && MODULES[first] && argv[0] === first ? [first] : Object.keys(MODULES);
  return [...new Set(names.map((n) => MODULES[n]()))];
}

/** Build the command tree for this argv; each action keeps its exit code through setCode. */
function program(io: Io, setCode: (c: number) => void, argv: string[]): Command {
  const ctx = cliContext(io, setCode);
  const prog = new Command('ppc-dombuild')
    .description('Build dom0 for Xen on PowerPC 970 with its p2m table in the RMA, then inspect and check it.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  for (const mod of commandModules(argv)) mod.register(prog, ctx);
  return prog;
}

/** Run the CLI; returns the exit code. Errors become one line on stderr. */
export async function run(argv: string[], io0: Io = processIo()): Promise<number> {
  let code = 0;
  // With --json a failure is also a JSON document on stdout, unless the command already printed its own.
  const wantJson = argv.includes('--json');
  let printed = false;
  const io: Io = wantJson ? { ...io0, out: (t) => { printed = true; io0.out(t); }, outBytes: (b) => { printed = true; io0.outBytes(b); } } : io0;
  const fail = (c: string, exitCode: number, message: string, hint: string | null): number => {
    if (wantJson && !printed) io.out(json(errorJson(c, exitCode, message, hint)));
    return exitCode;
  };
  const prog = program(io, (c) => (code = c), argv);
  try {
    await prog.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return fail('usage', EXIT_USAGE, e.message.replace(/^error: /, ''), null); // commander already printed its one line
    }
    const p = paint(io, io.stderrTTY);
    if (e instanceof DombuildError) {
      const hint = hintText(e);
      io.err(`${p.red('ppc-dombuild:')} ${e.message}${hint ? ` (${hint})` : ''}\n`);
      return fail(errorCode(e.name), e.exitCode, e.message, hint ?? null);
    }
    io.err(`${p.red('ppc-dombuild: internal error:')} ${(e as Error).stack ?? String(e)}\n`);
    return fail('internal', 70, (e as Error).message ?? String(e), 'a bug: please report it with the command line');
  }
}

export function main(): void {
  run(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  });
}
