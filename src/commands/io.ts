import chalk from 'chalk';
import * as path from 'path';
import type { Paint } from '../format/paint';
import { DEFAULT_COLUMNS, WIDE, type Columns } from '../format/table';

export type { Paint } from '../format/paint';

/** --color: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces), always, never. */
export type ColorMode = 'auto' | 'always' | 'never';
export const COLOR_MODES: readonly ColorMode[] = ['auto', 'always', 'never'];

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
  /** The terminal's width in columns (process.stdout.columns), when stdout is a terminal. */
  columns?: number;
  /** --color (default auto). */
  color?: ColorMode;
  /** --wide: tables at their full width, prose unwrapped, whatever the terminal. */
  wide?: boolean;
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
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  };
}

/**
 * Colour on a stream: `--color always` or `never` decide; else (auto)
 * FORCE_COLOR forces it on (off when it is 0 or false) and wins over NO_COLOR,
 * as Node's own colours do; else only on a terminal, never with NO_COLOR (any
 * value) or TERM=dumb.
 */
export function colorEnabled(io: Io, tty = io.stdoutTTY): boolean {
  if (io.color === 'always') return true;
  if (io.color === 'never') return false;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined) return !/^(0|false)$/i.test(force);
  return tty && io.env.NO_COLOR === undefined && io.env.TERM !== 'dumb';
}

export function paint(io: Io, tty = io.stdoutTTY): Paint {
  return new chalk.Instance({ level: colorEnabled(io, tty) ? 1 : 0 });
}

/**
 * How wide text for a stream may be: no limit with --wide; the terminal's
 * width on a terminal; else 80 columns.
 */
export function columns(io: Io, tty = io.stdoutTTY): Columns {
  if (io.wide) return WIDE;
  return tty && io.columns && io.columns > 0 ? io.columns : DEFAULT_COLUMNS;
}

/**
 * Each file name relative to the working directory, as a user would type it
 * (the same command prints the same bytes wherever it runs).
 */
export function relativePaths<T extends { [K in keyof T]: string }>(io: Io, files: T): T {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, path.relative(io.cwd, v as string) || '.'])) as T;
}
