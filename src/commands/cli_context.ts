import { Command, Option } from 'commander';
import type { Io } from './io';

/** A command's runner: parse its flags, call the core, format; returns the exit code. */
export type Runner<T> = (io: Io, flags: T) => number;

/**
 * What every command module's `register` is given: the shared options, and
 * the wrapper that runs a command's runner (fetched when it runs) and keeps
 * its exit code.
 */
export interface CliContext {
  /** Give a command that reads or writes the state --state and --json, and its runner. */
  withState<T>(cmd: Command, get: () => Runner<T>): void;
  /** A command that changes the state: --state, --json and --lock-timeout, and its runner. */
  withStateChange<T>(cmd: Command, get: () => Runner<T>): void;
  /** Give a command that reads no state --json, and its runner. */
  withJson<T>(cmd: Command, get: () => Runner<T>): void;
  machineOpt(): Option;
  ramOpt(): Option;
}

export function cliContext(io: Io, setCode: (c: number) => void): CliContext {
  const act = <T>(get: () => Runner<T>) => (...args: unknown[]): void => {
    const cmd = args[args.length - 1] as Command;
    setCode(get()(io, cmd.optsWithGlobals() as T));
  };
  const jsonOpt = (): Option => new Option('--json', 'one JSON document on stdout');
  return {
    withState: (cmd, get) => {
      cmd.addOption(new Option('--state <dir>', 'state directory (default ./.ppc-dombuild, or $PPC_DOMBUILD_STATE)')).addOption(jsonOpt()).action(act(get));
    },
    withStateChange: (cmd, get) => {
      cmd.addOption(new Option('--lock-timeout <seconds>', "how long to wait for another command changing the same state to finish (0: don't wait)").default('30'));
      cmd.addOption(new Option('--state <dir>', 'state directory (default ./.ppc-dombuild, or $PPC_DOMBUILD_STATE)')).addOption(jsonOpt()).action(act(get));
    },
    withJson: (cmd, get) => {
      cmd.addOption(jsonOpt()).action(act(get));
    },
    machineOpt: () => new Option('--machine <name|file>', 'machine profile: js21 (default), maple, big64, or a JSON file'),
    ramOpt: () => new Option('--ram <size>', "override the machine's RAM"),
  };
}
