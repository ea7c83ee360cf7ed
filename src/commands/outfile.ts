import * as fs from 'fs';
import * as path from 'path';
import { DombuildError, EXIT_USAGE } from '../util/errors';
import type { Io } from './io';
import { writeAtomic } from './state_store';

/** A picture or page the user asked for could not be written: one line, exit 2 (a bad output path). */
export class OutputFileError extends DombuildError {
  constructor(message: string, hint: string) { super(message, EXIT_USAGE, hint); }
}

/** Write an output file (--svg, --html) whole, through the state store's atomic writer. */
export function writeOutput(io: Io, file: string, text: string): string {
  const full = path.resolve(io.cwd, file);
  try {
    writeAtomic(full, Buffer.from(text, 'utf8'), false);
  } catch (e) {
    // A rename that failed (the path is a directory) leaves the temporary file: remove it.
    fs.rmSync(`${full}.${process.pid}.tmp`, { force: true });
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new OutputFileError(`cannot write ${file}: ${code}`, 'give a path in a directory that exists and is writable');
  }
  return full;
}

/** The text output's last line for a file written. */
export const wrote = (file: string | undefined): string => (file ? `wrote ${file}\n` : '');
