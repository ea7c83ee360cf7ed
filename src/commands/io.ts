import chalk from 'chalk';
import type { Paint } from '../format/paint';

export type { Paint } from '../format/paint';

/**
 * What a command may touch of the outside world. The CLI passes the real
 * process streams; tests pass buffers.
 */
export interface Io {
  out(text: string): void;
  outBytes(bytes: Uint8Array): void;
  err(text: string): void;
  stdoutTTY: boolean;
  stderrTTY: boolean;
  env: Record<string, string | undefined>;
  cwd: string;
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t),
    outBytes: (b) => process.stdout.write(b),
    err: (t) => process.stderr.write(t),
    stdoutTTY: !!process.stdout.isTTY,
    stderrTTY: !!process.stderr.isTTY,
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Colour only on a terminal, never with NO_COLOR (any value) or TERM=dumb. */
export function colorEnabled(io: Io, tty = io.stdoutTTY): boolean {
  return tty && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
}


export function paint(io: Io, tty = io.stdoutTTY): Paint {
  return new chalk.Instance({ level: colorEnabled(io, tty) ? 1 : 0 });
}
