/**
 * The state file's pre-check, for state_store's loadState to call before it
 * reads: a state.bin that is a FIFO, a device or a directory is a corrupt
 * state (exit 3), refused without blocking (the open is O_NONBLOCK). A
 * missing file is left to the caller, which says how to build one.
 */
import * as fs from 'fs';
import { StateError } from '../util/errors';
import { openRegularFile, readRegularFile } from './regular_file';

const corrupt = (message: string): StateError => new StateError(`state ${message}`, ['rebuild-state']);

/** Throws StateError unless `file` is absent or a regular file. */
export function guardStateFile(file: string): void {
  if (!fs.existsSync(file)) return;
  fs.closeSync(openRegularFile(file, 'file', { fail: corrupt }).fd);
}

/** The state file's bytes, or a StateError (exit 3) when it is not a regular file or cannot be read. */
export function readStateFile(file: string): Buffer {
  return readRegularFile(file, 'file', { fail: corrupt });
}
