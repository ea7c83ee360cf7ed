import { Command, CommanderError, Help, Option } from 'commander';
import { cliContext, endCommand, examplesText, type CliContext } from './commands/cli_context';
import { DombuildError, EXIT_IO, EXIT_USAGE, UsageError } from './util/errors';
import { COLOR_MODES, processIo, paint, type ColorMode, type Io } from './commands/io';
import { hintText } from './commands/hints';
import { oneLine, quote } from './util/quote';
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
  hcall: () => require('./commands/hcall'),
  completion: () => require('./commands/completion'),
  report: () => require('./commands/report'),
};

/** Words that need the whole command tree: help and completion describe every command. */
const WHOLE_TREE = new Set(['help', 'completion']);

/**
 * The modules to load: only the named command's when the first word is one
 * (a run loads just what it uses), else all of them (help, a typo).
 */
function commandModules(argv: string[]): CommandModule[] {
  const first = argv.find((a) => !a.startsWith('-'));
  const names = first !== undefined && MODULES[first] && argv[0] === first && !WHOLE_TREE.has(first) ? [first] : Object.keys(MODULES);
  return [...new Set(names.map((n) => MODULES[n]()))];
}

/** The top-level examples (each command has its own in its --help). */
const EXAMPLES: [string, string][] = [
  ['ppc-dombuild construct --mem 4G', 'build a 4 GiB dom0 on the default machine (JS21)'],
  ['ppc-dombuild list', 'the domains, one line each'],
  ['ppc-dombuild inspect p2m --pfn 0x4000', 'one pfn -> mfn translation'],
  ['ppc-dombuild validate', 'check every invariant (exit 1 if one breaks)'],
  ['ppc-dombuild help inspect p2m', "a nested command's help"],
  ['source <(ppc-dombuild completion bash)', 'tab completion in bash'],
];

/**
 * Help as commander gives it, with required options marked "(required)"
 * (every command inherits it).
 */
const HELP_CONFIG: Partial<Help> = {
  optionDescription(this: Help, opt: Option): string {
    const base = Help.prototype.optionDescription.call(this, opt);
    return opt.mandatory ? `${base} (required)` : base;
  },
};

/**
 * The command tree, every command registered (for the man page and
 * completion); `argv` picks the modules to load for one run.
 */
export function buildProgram(io: Io = processIo(), setCode: (c: number) => void = () => undefined, argv: string[] = []): Command {
  const ctx = cliContext(io, setCode);
  const prog = new Command('ppc-dombuild')
    .description('Build dom0 for Xen on PowerPC 970 with its p2m table in the RMA, then inspect and check it.')
    .version(VERSION)
    .addOption(new Option('--color <when>', 'when to colour: auto is on a terminal unless NO_COLOR is set (FORCE_COLOR forces it)').choices(COLOR_MODES).default('auto'))
    .option('-q, --quiet', 'print nothing but errors (the exit code says how it went)')
    .exitOverride()
    .configureHelp(HELP_CONFIG)
    // Commander's own error lines are not printed: run() prints each as one line (see commanderLine).
    // Help asked for goes to stdout; help commander shows for a missing command (on stderr) is replaced by one line.
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: () => undefined, outputError: () => undefined })
    .addHelpText('after', examplesText(EXAMPLES));

  for (const mod of commandModules(argv)) mod.register(prog, ctx);
  // `help <command> [<sub>...]`: the help of a nested command too (commander's own stops at the first word).
  prog.helpCommand(false);
  prog.command('help [command...]')
    .description('show the help of a command, e.g. `help inspect p2m`')
    .action((names: string[]) => {
      let c: Command = prog;
      for (const n of names) {
        const next = c.commands.find((x) => x.name() === n || x.aliases().includes(n));
        if (!next) throw new UsageError(`no command '${[...names.slice(0, names.indexOf(n)), n].join(' ')}'`, `the commands${c === prog ? '' : ` of ${c.name()}`}: ${c.commands.map((x) => x.name()).join(', ')}`);
        c = next;
      }
      c.outputHelp();
    });
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
    if (wantJson && !printed) io.out(json(errorJson(c, exitCode, oneLine(message), hint)));
    return exitCode;
  };
  const prog = buildProgram(io, (c) => (code = c), argv);
  try {
    await prog.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    const p = paint({ ...io, color: prog.opts().color as ColorMode | undefined }, io.stderrTTY);
    const line = (text: string): void => io.err(`${p.red('ppc-dombuild:')} ${oneLine(text)}\n`);
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.help') {
        // A command group (or the program) given without its command.
        const text = `${argv.filter((a) => !a.startsWith('-')).join(' ') || 'ppc-dombuild'} needs a command`;
        line(`${text} (run with --help for usage)`);
        return fail('usage', EXIT_USAGE, text, 'run with --help for usage');
      }
      line(commanderLine(e));
      return fail('usage', EXIT_USAGE, e.message.replace(/^error: /, ''), 'run with --help for usage');
    }
    if (e instanceof DombuildError) {
      const hint = hintText(e);
      line(`${e.message}${hint ? ` (${hint})` : ''}`);
      return fail(errorCode(e.name), e.exitCode, e.message, hint ?? null);
    }
    const fsLine = fsErrorLine(e);
    if (fsLine) {
      line(fsLine);
      return fail('io', EXIT_IO, fsLine, null);
    }
    io.err(`${p.red('ppc-dombuild: internal error:')} ${(e as Error).stack ?? String(e)}\n`);
    return fail('internal', 70, (e as Error).message ?? String(e), 'a bug: please report it with the command line');
  } finally {
    endCommand();
  }
}

/** Exit status for a reader that went away (`| head`): what a command killed by SIGPIPE reports, 128 + 13. */
export const EXIT_PIPE_CLOSED = 141;

/**
 * Commander's message as one line: without its "error: " prefix, its
 * "(Did you mean ...?)" joined on, and the way to the usage.
 */
function commanderLine(e: CommanderError): string {
  // Only commander's own line breaks are joined; one inside a value the user typed stays, escaped by oneLine.
  const text = e.message.replace(/^error: /, '').replace(/\n(\(Did you mean)/g, ' $1').replace(/\n+$/, '');
  return `${text} (run with --help for usage)`;
}

/**
 * A file system error the command layer let through (a state directory
 * that cannot be made, an output file that cannot be written, a name too
 * long): one line and the file exit code, not a stack trace. The core touches no files, so it cannot raise one.
 */
function fsErrorLine(e: unknown): string | undefined {
  const err = e as NodeJS.ErrnoException;
  // Not instanceof Error: under jest, fs errors come from another realm.
  if (typeof e !== 'object' || e === null || typeof err.code !== 'string' || typeof err.syscall !== 'string') return undefined;
  const where = err.path !== undefined ? ` ${quote(err.path)}` : '';
  return `cannot ${err.syscall}${where}: ${err.code} (check the path; a directory must exist or be creatable, names at most 255 bytes)`;
}

export function main(): void {
  // A closed pipe on stdout ends the command quietly, as SIGPIPE ends a C program.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT_PIPE_CLOSED);
    throw e;
  });
  run(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  });
}
