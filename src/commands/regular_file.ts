/**
 * Input files are regular files read up to a stated limit. The file is
 * opened with O_NONBLOCK (so a FIFO with no writer cannot block the open),
 * then fstat'ed: a FIFO, a device, a directory or a socket is refused before
 * a byte is read, and so is a file larger than the limit. /dev/zero given as
 * a kernel, a FIFO given as a state: one line, never a hang or a 17 GB read.
 */
import { constants as bufferConstants } from 'buffer';
import * as fs from 'fs';
import { DombuildError, UsageError } from '../util/errors';
import { quote } from '../util/quote';
import { formatSize } from '../util/size';

/** A firmware device tree blob: libfdt trees are a few KiB; QEMU's are ~14 KiB. */
export const TREE_FILE_LIMIT = 4 * 1024 * 1024;
/** A machine profile JSON document. */
export const PROFILE_FILE_LIMIT = 1024 * 1024;

export interface RegularFileOptions {
  /** Most bytes the file may have (default: the largest Buffer). */
  limit?: number;
  /** What the limit is, for the message (default "the N it may be"), e.g. "the 64 MiB RMA it is loaded into". */
  limitText?: string;
  /** The error to throw (default UsageError, exit 2; a state passes a StateError, exit 3). */
  fail?: (message: string) => DombuildError;
}

const usage = (message: string): DombuildError => new UsageError(message);

function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

/**
 * Open `file` for reading if it is a regular file of at most `limit` bytes;
 * returns its descriptor (the caller closes it) and size. `what` names the
 * file in the message ("kernel", "firmware tree", "state").
 */
export function openRegularFile(file: string, what: string, opts: RegularFileOptions = {}): { fd: number; size: number } {
  const fail = opts.fail ?? usage;
  const limit = opts.limit ?? bufferConstants.MAX_LENGTH;
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw fail(`${what} ${quote(file)}: cannot read it (${errnoText(e)})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw fail(`${what} ${quote(file)} is ${kindOf(st)}, not a regular file`);
    if (st.size > limit) throw fail(`${what} ${quote(file)} is ${formatSize(st.size)}, more than ${opts.limitText ?? `the ${formatSize(limit)} it may be`}`);
    return { fd, size: st.size };
  } catch (e) {
    fs.closeSync(fd);
    if (e instanceof DombuildError) throw e;
    throw fail(`${what} ${quote(file)}: cannot read it (${errnoText(e)})`);
  }
}

/** The bytes of a regular file of at most `limit` bytes (see openRegularFile). */
export function readRegularFile(file: string, what: string, opts: RegularFileOptions = {}): Buffer {
  const fail = opts.fail ?? usage;
  const { fd, size } = openRegularFile(file, what, opts);
  try {
    // At most the size fstat gave: a file that grows meanwhile is read as it was.
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    return off === size ? buf : buf.subarray(0, off);
  } catch (e) {
    throw fail(`${what} ${quote(file)}: cannot read it (${errnoText(e)})`);
  } finally {
    fs.closeSync(fd);
  }
}
