import { Command, Option } from 'commander';
import type { Io } from './io';

/** A command's runner: parse its flags, call the core, format; returns the exit code. */
export type Runner<T> = (io: Io, flags: T) => number;

/** What every command module's `register` is given: the action wrapper and the shared options. */
export interface CliContext {
  /** Wrap a runner as a commander action that keeps its exit code (`get` is called when the command runs). */
  act<T>(get: () => Runner<T>): (...args: unknown[]) => void;
  stateOpt(): Option;
  jsonOpt(): Option;
}

export function cliContext(io: Io, setCode: (c: number) => void): CliContext {
  return {
    act: <T>(get: () => Runner<T>) => (...args: unknown[]): void => {
      const cmd = args[args.length - 1] as Command;
      setCode(get()(io, cmd.optsWithGlobals() as T));
    },
    stateOpt: () => new Option('--state <dir>', 'state directory (default ./.ppc-dombuild, or $PPC_DOMBUILD_STATE)'),
    jsonOpt: () => new Option('--json', 'one JSON document on stdout'),
  };
}
