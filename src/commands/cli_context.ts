import { Command, Option } from 'commander';
import SPEC from './cli.json';
import type { ColorMode, Io } from './io';

/** Clean-ups a command's modules ask for when the command ends (the state store closes its files). */
const endings = new Set<() => void>();

/** Call fn when the running command ends, however it ends (a module that is never loaded asks for nothing). */
export function atCommandEnd(fn: () => void): void {
  endings.add(fn);
}

/** Run the clean-ups (the CLI, as a command ends). */
export function endCommand(): void {
  for (const fn of endings) fn();
}

/** A command's runner: parse its flags, call the core, format; returns the exit code. */
export type Runner<T> = (io: Io, flags: T) => number;

/** One line of a command's `Examples:` block: the command line, and what it does. */
export type Example = [command: string, what: string];

/** What a command prints besides JSON: a table or prose that fits the terminal (it takes --wide), or text that is never wrapped. */
export interface OutputKind { wide?: boolean }

/**
 * What every command module's `register` is given: the shared options, and
 * the wrapper that runs a command's runner (fetched when it runs) and keeps
 * its exit code.
 */
export interface CliContext {
  /** Give a command that reads or writes the state --state, --json and --wide, and its runner. */
  withState<T>(cmd: Command, get: () => Runner<T>, kind?: OutputKind): void;
  /** A command that changes the state: --state, --json, --wide and --lock-timeout, and its runner. */
  withStateChange<T>(cmd: Command, get: () => Runner<T>, kind?: OutputKind): void;
  /** Give a command that reads no state --json and --wide, and its runner. */
  withJson<T>(cmd: Command, get: () => Runner<T>, kind?: OutputKind): void;
  /** Run a command that takes neither --json nor --state (it is given its Command for its arguments). */
  run(cmd: Command, fn: (io: Io, cmd: Command) => number): void;
  /** The `Examples:` block after the command's options in --help (and in the man page). */
  examples(cmd: Command, examples: Example[]): Command;
  /**
   * Register the command `name` under `parent` as src/commands/cli.json
   * declares it (description, options, examples, and which shared options
   * its kind adds); `get` fetches its runner when it runs. A group (a
   * command with commands of its own) gets no runner: returns it to
   * declare those under.
   */
  declare<T>(parent: Command, name: string, get?: () => Runner<T>): Command;
}

/** A command as src/commands/cli.json declares it: the one source of the help, the man page and completion. */
interface CommandSpec {
  description: string;
  kind?: 'state' | 'state-change' | 'json';
  wide?: boolean;
  options?: { flags: string; description: string; default?: string; required?: boolean; choices?: string[] }[];
  examples?: { command: string; what: string }[];
  commands?: Record<string, CommandSpec>;
}

/** The spec of the command at `path` (its names from the top). */
function specOf(path: string[]): CommandSpec {
  let level: Record<string, CommandSpec> | undefined = (SPEC as { commands: Record<string, CommandSpec> }).commands;
  let found: CommandSpec | undefined;
  for (const name of path) {
    found = level?.[name];
    if (!found) throw new Error(`src/commands/cli.json declares no command '${path.join(' ')}'`);
    level = found.commands;
  }
  return found!;
}

/** A command's names from the top (the program's own name left out). */
function pathOf(cmd: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names;
}

const EXAMPLES = new WeakMap<Command, Example[]>();

/** A command's examples, as its register() gave them (the man page prints them too). */
export function examplesOf(cmd: Command): Example[] {
  return EXAMPLES.get(cmd) ?? [];
}

/** The `Examples:` block as --help prints it: each example a comment saying what it does, then the command line. */
export function examplesText(examples: Example[]): string {
  if (!examples.length) return '';
  return '\nExamples:\n' + examples.map(([c, what]) => `  # ${what}\n  ${c}\n`).join('\n');
}

/** The options every command takes from the top: -q, --color. */
interface GlobalFlags { quiet?: boolean; color?: ColorMode; wide?: boolean }

/** The Io a runner is given: -q drops everything it prints (errors are printed by the CLI, not the runner). */
export function commandIo(io: Io, g: GlobalFlags): Io {
  const base: Io = { ...io, color: g.color ?? io.color, wide: !!g.wide };
  if (!g.quiet) return base;
  const none = (): void => undefined;
  return { ...base, out: none, outBytes: none, err: none };
}

export function cliContext(io: Io, setCode: (c: number) => void): CliContext {
  const act = <T>(get: () => Runner<T>) => (...args: unknown[]): void => {
    const cmd = args[args.length - 1] as Command;
    const flags = cmd.optsWithGlobals() as T & GlobalFlags;
    setCode(get()(commandIo(io, flags), flags));
  };
  const jsonOpt = (): Option => new Option('--json', 'one JSON document on stdout');
  const stateOpt = (): Option => new Option('--state <dir>', 'state directory (default ./.ppc-dombuild, or $PPC_DOMBUILD_STATE)');
  const wideOpt = (): Option => new Option('--wide', 'tables at full width (one line per row), whatever the terminal; default: fit the terminal, 80 columns when not one');
  const output = (cmd: Command, kind: OutputKind | undefined): Command => {
    cmd.addOption(jsonOpt());
    if (kind?.wide !== false) cmd.addOption(wideOpt());
    return cmd;
  };
  return {
    withState: (cmd, get, kind) => {
      output(cmd.addOption(stateOpt()), kind).action(act(get));
    },
    withStateChange: (cmd, get, kind) => {
      cmd.addOption(new Option('--lock-timeout <seconds>', "how long to wait for another command changing the same state to finish (0: don't wait)").default('30'));
      output(cmd.addOption(stateOpt()), kind).action(act(get));
    },
    withJson: (cmd, get, kind) => {
      output(cmd, kind).action(act(get));
    },
    run: (cmd, fn) => {
      cmd.action((...args: unknown[]) => {
        const c = args[args.length - 1] as Command;
        setCode(fn(commandIo(io, c.optsWithGlobals() as GlobalFlags), c));
      });
    },
    examples: (cmd, examples) => {
      EXAMPLES.set(cmd, examples);
      return cmd.addHelpText('after', examplesText(examples));
    },
    declare<T>(parent: Command, name: string, get?: () => Runner<T>): Command {
      const spec = specOf([...pathOf(parent), name]);
      const cmd = parent.command(name).description(spec.description);
      for (const o of spec.options ?? []) {
        const opt = new Option(o.flags, o.description);
        if (o.default !== undefined) opt.default(o.default);
        if (o.required) opt.makeOptionMandatory();
        if (o.choices) opt.choices(o.choices);
        cmd.addOption(opt);
      }
      if (spec.examples?.length) this.examples(cmd, spec.examples.map((e) => [e.command, e.what]));
      if (!get) return cmd;
      const kind = { wide: spec.wide };
      if (spec.kind === 'state-change') this.withStateChange(cmd, get, kind);
      else if (spec.kind === 'state') this.withState(cmd, get, kind);
      else this.withJson(cmd, get, kind);
      return cmd;
    },
  };
}
