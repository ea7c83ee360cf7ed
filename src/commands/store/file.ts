import * as fs from 'fs';
import { randomBytes } from 'crypto';
import * as path from 'path';
import type { ByteSink, ByteSource } from '../../state/container';
import { IoError } from '../../util/errors';

/** Largest piece one read or write call moves (the syscalls take 2 GiB at most). */
const MAX_IO = 1 << 30;

const { O_CREAT, O_EXCL, O_WRONLY, O_RDWR, O_NOFOLLOW } = fs.constants;

/** What went wrong with a file, in words, from its errno code. */
export function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return 'no such file or folder';
    case 'ENOTDIR': return 'a part of the path is a file, not a folder';
    case 'EISDIR': return 'it is a folder';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'ENOSPC': return 'no space left on the device';
    case 'EDQUOT': return 'disk quota exceeded';
    case 'EROFS': return 'read-only file system';
    case 'EEXIST': return 'it already exists';
    case 'ELOOP': return 'it is a symbolic link (not followed)';
    case 'EIO': return 'input/output error';
    case 'EMFILE': case 'ENFILE': return 'too many open files';
    case 'EFBIG': return 'file too large for this file system';
    default: return code ?? (e as Error).message;
  }
}

/** Is this an error from the file system (errno), as opposed to a bug? */
export function isFileError(e: unknown): e is NodeJS.ErrnoException {
  // Not `instanceof Error`: an error from Node's own realm is not one of a sandbox's (jest's).
  return typeof e === 'object' && e !== null && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}

/** Run fn; a file-system failure becomes one IoError line naming what it was doing. */
export function fileOp<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isFileError(e)) throw ioError(what, e);
    throw e;
  }
}

/** A file-system failure while doing `what`, as the one line the user sees. */
export function ioError(what: string, e: NodeJS.ErrnoException): IoError {
  const c = e.code;
  return new IoError(`cannot ${what}: ${reason(e)}`, c === 'ENOSPC' || c === 'EDQUOT' ? ['free-disk'] : undefined);
}

/** Positional reads over an open fd (never the whole file in one buffer). */
export class FileSource implements ByteSource {
  constructor(private readonly fd: number, readonly size: number, private readonly file: string) {}

  read(position: number, length: number): Uint8Array {
    const want = Math.max(0, Math.min(length, this.size - position));
    // Its own ArrayBuffer: never a slice of Node's pool, so chunks are word aligned.
    const out = new Uint8Array(want);
    let done = 0;
    while (done < want) {
      const n = fileOp(`read ${this.file}`, () => fs.readSync(this.fd, out, done, Math.min(want - done, MAX_IO), position + done));
      if (n === 0) break;
      done += n;
    }
    return done < want ? out.subarray(0, done) : out;
  }
}

/** Write all of `bytes` at `position` of an open fd (in pieces the syscall takes); a failure is one IoError. */
export function writeAt(fd: number, position: number, bytes: Uint8Array, what: string): void {
  let done = 0;
  while (done < bytes.length) done += fileOp(what, () => fs.writeSync(fd, bytes, done, Math.min(bytes.length - done, MAX_IO), position + done));
}

/** Positional writes into an open fd. */
export class FileSink implements ByteSink {
  constructor(private readonly fd: number, private readonly file: string) {}

  write(position: number, bytes: Uint8Array): void {
    writeAt(this.fd, position, bytes, `write ${this.file}`);
  }
}

/** An unguessable name beside `file`: `<name>.<16 hex>.tmp` (what cleanup matches). */
export function tempName(file: string): string {
  return `${file}.${randomBytes(8).toString('hex')}.tmp`;
}

/** Our temporary names and nothing else. */
export const TEMP_PATTERN = /\.[0-9a-f]{16}\.tmp$/;

/** Create a new file for writing: exclusively (never an existing file), never through a symbolic link. */
export function createExclusive(file: string, readable = false, what = `create ${file}`): number {
  return fileOp(what, () => fs.openSync(file, (readable ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644));
}

/** Flush a folder's entries (a rename is durable once its folder is). */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
    if (!isFileError(e) || (e.code !== 'EINVAL' && e.code !== 'EISDIR' && e.code !== 'EPERM')) throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Write a file the user named (an SVG, a blob) whole or not at all: a new
 * temporary file beside it (exclusive, not through a link), flushed, then
 * renamed over it. On any failure the temporary file goes and the target
 * is as it was.
 */
export function writeFileAtomic(file: string, data: Uint8Array | Uint8Array[]): void {
  const tmp = tempName(file);
  const fd = createExclusive(tmp, false, `write ${file}`);
  try {
    const sink = new FileSink(fd, file);
    let at = 0;
    for (const b of Array.isArray(data) ? data : [data]) {
      sink.write(at, b);
      at += b.length;
    }
    fileOp(`flush ${file}`, () => fs.fsyncSync(fd));
    fs.closeSync(fd);
    fileOp(`write ${file}`, () => fs.renameSync(tmp, file));
  } catch (e) {
    try { fs.closeSync(fd); } catch { /* already closed */ }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDir(path.dirname(file));
}
