import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { LockError } from '../../util/errors';
import { fileOp, isFileError } from './file';

/**
 * One writer at a time per state directory, as git's index.lock: the file
 * `lock` in it, created exclusively (O_EXCL) by the command that changes the
 * state and removed when it has renamed the new state into place. It holds
 * the holder's pid, its start time (so a reused pid is not mistaken for it),
 * its host and a nonce:
 *
 *   <pid> <start> <host> <nonce>
 *
 * A lock whose holder is on this host and no longer running (killed) is
 * stale: the next writer takes it over. Taking over is itself serialised by
 * `lock.break` (created exclusively), so two writers that both find the
 * same stale lock cannot both remove it and each believe it holds the new one.
 * Readers take no lock: the state is swapped in by one rename, so they see
 * the old state or the new one.
 */
export const LOCK_FILE = 'lock';
const BREAK_FILE = 'lock.break';
const POLL_MS = 25;

export interface Holder { pid: number; start: string; host: string; nonce: string }

export interface HeldLock {
  readonly file: string;
  release(): void;
}

/** This process's start time as the kernel counts it (Linux: /proc/self/stat field 22), else '-'. */
function startOf(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: count from its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(text: string): Holder | undefined {
  const [pid, start, host, nonce] = text.trim().split(' ');
  const n = Number(pid);
  if (!Number.isSafeInteger(n) || n <= 0 || !start || !host || !nonce) return undefined;
  return { pid: n, start, host, nonce };
}

function readHolder(file: string): { text: string; holder?: Holder } | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return { text, holder: parse(text) };
  } catch (e) {
    if (isFileError(e) && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Is the holder gone for sure (same host, and its pid is not running, or is running as another process)? */
export function isStale(h: Holder | undefined, lockFile: string): boolean {
  if (!h) {
    // A lock file without a whole line: its writer died between create and write. Stale once it is not brand new.
    try {
      return Date.now() - fs.statSync(lockFile).mtimeMs > 2000;
    } catch {
      return false;
    }
  }
  if (h.host !== os.hostname()) return false;
  if (!alive(h.pid)) return true;
  const now = startOf(h.pid);
  return h.start !== '-' && now !== undefined && now !== h.start;
}

/** Try once to create the lock; returns it, or who holds it. */
function tryCreate(file: string, mine: string): HeldLock | { holder?: Holder; text: string } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    if (isFileError(e) && e.code === 'EEXIST') return readHolder(file) ?? { text: '' };
    return fileOp(`create the lock ${file}`, () => { throw e; });
  }
  try {
    fs.writeSync(fd, mine);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return {
    file,
    release: () => {
      // Only ours: a lock taken over after we were presumed dead is not removed.
      if (readHolder(file)?.text === mine) fs.rmSync(file, { force: true });
    },
  };
}

/** Remove a stale lock, if it is still the same stale lock, under lock.break. */
function breakStale(dir: string, file: string, staleText: string, mine: string): void {
  const brk = path.join(dir, BREAK_FILE);
  const got = tryCreate(brk, mine);
  if (!('release' in got)) {
    // Another writer is breaking it, or died doing so.
    if (isStale(got.holder, brk)) fs.rmSync(brk, { force: true });
    return;
  }
  try {
    if (readHolder(file)?.text === staleText) fs.rmSync(file, { force: true });
  } finally {
    got.release();
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Take the state directory's lock, waiting up to `timeoutMs` for a live
 * holder (`onWait` is told once, when the wait starts). A stale lock is
 * taken over. Throws LockError naming the holder when time runs out.
 */
export function acquireLock(dir: string, timeoutMs: number, onWait?: (h: Holder | undefined) => void): HeldLock {
  const file = path.join(dir, LOCK_FILE);
  const mine = `${process.pid} ${startOf(process.pid) ?? '-'} ${os.hostname()} ${randomBytes(8).toString('hex')}\n`;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const got = tryCreate(file, mine);
    if ('release' in got) return got;
    if (isStale(got.holder, file)) {
      breakStale(dir, file, got.text, mine);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = got.holder ? `pid ${got.holder.pid}${got.holder.host !== os.hostname() ? ` on ${got.holder.host}` : ''}` : 'a command that is starting';
      throw new LockError(`state ${dir} is being changed by ${who} (its lock ${file} is held); gave up after ${Math.round(timeoutMs / 100) / 10} s`, ['wait-for-lock']);
    }
    if (!told) {
      told = true;
      onWait?.(got.holder);
    }
    sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
}
