import * as path from 'path';
import type { Io } from './io';
import { writeUserFile } from './state_store';

/**
 * Write an output file the user asked for (--svg, --html) whole, through the
 * store's atomic writer: a path that cannot be written is one line and the
 * file exit code (74), never a half-written file.
 */
export function writeOutput(io: Io, file: string, text: string): string {
  const full = path.resolve(io.cwd, file);
  writeUserFile(full, Buffer.from(text, 'utf8'));
  return full;
}

/** The text output's last line for a file written. */
export const wrote = (file: string | undefined): string => (file ? `wrote ${file}\n` : '');
