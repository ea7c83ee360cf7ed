import * as path from 'path';
import type { Io } from './io';
import { writeFileAtomic } from './store/file';

/**
 * Write an output file the user asked for (--svg, --html, --dtb) whole, through the
 * store's atomic writer: a path that cannot be written is one line and the
 * file exit code (74), never a half-written file.
 */
export function writeOutput(io: Io, file: string, data: string | Uint8Array): string {
  const full = path.resolve(io.cwd, file);
  writeFileAtomic(full, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  return full;
}

/** The text output's last line for a file written. */
export const wrote = (file: string | undefined): string => (file ? `wrote ${file}\n` : '');
