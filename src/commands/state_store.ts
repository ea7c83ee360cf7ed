import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { PART_PATTERN, SectionWrite, StateContainer, writeContainer } from '../state/container';
import { decodeState, stateSections } from '../state/snapshot';
import { CHUNK_SIZE } from '../machine/guest_memory';
import { DombuildError, IoError, StateError, UsageError } from '../util/errors';
import type { System } from '../xen/system';
import type { Io } from './io';
import { atCommandEnd } from './cli_context';
import { fdtTotalSize } from '../devtree/fdt_header';
import { createExclusive, FileSource, fileOp, fsyncDir, isFileError, TEMP_PATTERN, tempName } from './store/file';
import { acquireLock } from './store/lock';
import { BackgroundWriter, DirectWriter, SaveWriter, WriterSink } from './store/writer';

export const STATE_FILE = 'state.bin';
export const DTB_EXPORT = 'dom0.dtb';
export const P2M_EXPORT = 'dom0-p2m.bin';
/** The generation in force: a symbolic link to one gen-* folder, swapped by one rename. */
const CURRENT = 'current';
const GEN_PATTERN = /^gen-[0-9a-f]{16}$/;
const FILES = [STATE_FILE, DTB_EXPORT, P2M_EXPORT];

export interface SavedFiles { state: string; dtb: string; p2m: string }


/** --state DIR, else $PPC_DOMBUILD_STATE, else ./.ppc-dombuild */
export function stateDir(io: Io, opt?: string): string {
  return path.resolve(io.cwd, opt ?? io.env.PPC_DOMBUILD_STATE ?? '.ppc-dombuild');
}

/** State files open in this run (closed when the command ends: chunks are read from them until then). */
const open = new Set<number>();
/** The generation folder and container each loaded System came from (a save carries sections over from it). */
const origin = new WeakMap<System, { container: StateContainer; file: string; gen?: string }>();

export function closeOpenStates(): void {
  ahead?.close();
  ahead = undefined;
  for (const fd of open) {
    try { fs.closeSync(fd); } catch { /* gone */ }
  }
  open.clear();
}
atCommandEnd(closeOpenStates);

/**
 * Open the state and read its structure; everything else is read when used.
 * The file is opened once, so what is read later comes from the same
 * generation even if a writer swaps in a new one meanwhile.
 */
export function loadState(dir: string): System {
  const file = path.join(dir, STATE_FILE);
  for (let attempt = 0; ; attempt++) {
    // The file itself (through `current`), so its part files are looked for in the same generation.
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch {
      real = file; // the open below says what is wrong
    }
    let fd: number;
    try {
      // O_NONBLOCK: a state.bin that is a FIFO must be refused, not waited on.
      fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A writer swapped generations between our resolving `current` and opening: look again.
      if (code === 'ENOENT' && attempt < 5 && fs.existsSync(path.join(dir, CURRENT))) continue;
      if (code === 'ENOENT') throw new StateError(`no built state in ${dir}`, 'run `ppc-dombuild construct` first (or point --state / PPC_DOMBUILD_STATE at one)');
      if (code === 'ENOTDIR') throw new IoError(`state folder ${dir} is a file, not a folder`);
      return fileOp(`read state ${file}`, () => { throw e; });
    }
    open.add(fd);
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new IoError(`cannot read state ${file}: it is a folder`);
    if (!st.isFile()) throw new StateError(`state ${file} is not a regular file (a FIFO, a socket or a device)`, ['rebuild-state']);
    // The generation folder it is in (none for a state file made elsewhere).
    const gen = GEN_PATTERN.test(path.basename(path.dirname(real))) ? path.dirname(real) : undefined;
    let swapped = false;
    const openPart = (name: string): FileSource | undefined => {
      const p = path.join(path.dirname(real), name);
      let pfd: number;
      try {
        pfd = fs.openSync(p, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return fileOp(`read state ${p}`, () => { throw e; });
        // The generation went (a writer swapped in a new one and removed it): start again from `current`.
        if (attempt < 5 && gen !== undefined && !fs.existsSync(real)) {
          swapped = true;
          throw e;
        }
        return undefined; // missing: what is in it fails when read (exit 3)
      }
      open.add(pfd);
      return new FileSource(pfd, fs.fstatSync(pfd).size, p);
    };
    let container: StateContainer;
    try {
      container = StateContainer.open(new FileSource(fd, st.size, file), file, openPart);
    } catch (e) {
      if (swapped) continue;
      throw e;
    }
    const sys = decodeState(container, file);
    origin.set(sys, { container, file: real, gen });
    return sys;
  }
}

/** --lock-timeout SECONDS (default 30), in ms. */
export function lockTimeoutMs(text: string | undefined): number {
  if (text === undefined) return 30_000;
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s < 0) throw new UsageError(`--lock-timeout '${text}' is not a number of seconds`, 'e.g. --lock-timeout 30 (0: do not wait)');
  return s * 1000;
}

/**
 * Change the state under its lock: held from before the load to after the
 * new state is in place, so two writers never both start from the same
 * state (the second waits). `fn` gets the loader (construct builds from
 * nothing and never calls it) and the saver.
 */
export function changeState<R>(io: Io, dir: string, lockTimeout: string | undefined, fn: (load: () => System, save: (sys: System) => SavedFiles) => R): R {
  const timeout = lockTimeoutMs(lockTimeout);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new IoError(`state folder ${dir} is a file, not a folder`);
  fileOp(`create state folder ${dir}`, () => fs.mkdirSync(dir, { recursive: true }));
  const lock = acquireLock(dir, timeout, (h) => {
    if (io.stderrTTY) io.err(`waiting for ${dir}'s lock, held by ${h ? `pid ${h.pid}` : 'another command'} (up to ${timeout / 1000} s)...\n`);
  });
  try {
    removeLeftovers(dir);
    return fn(() => loadState(dir), (sys) => saveState(dir, sys));
  } finally {
    lock.release();
  }
}

/**
 * What a killed writer left: generation folders that are not current and
 * our temporary names. Only called with the lock held, so no writer is
 * using them; a reader that opened an old generation keeps its open file.
 */
function removeLeftovers(dir: string): void {
  let current: string | undefined;
  try {
    current = path.basename(fs.readlinkSync(path.join(dir, CURRENT)));
  } catch {
    current = undefined;
  }
  for (const name of fs.readdirSync(dir)) {
    if ((GEN_PATTERN.test(name) && name !== current) || TEMP_PATTERN.test(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Save the state and its exports as one unit: all three files go into a new
 * generation folder, each flushed, then the `current` link is swapped to it
 * by one rename. A crash before the rename leaves the previous generation
 * in force, whole; after it, the new one. state.bin, dom0.dtb and
 * dom0-p2m.bin in the state folder are links through `current`.
 * Call with the lock held (changeState).
 */
export function saveState(dir: string, sys: System): SavedFiles {
  const from = origin.get(sys);
  const genName = `gen-${randomBytes(8).toString('hex')}`;
  const gen = path.join(dir, genName);
  fileOp(`create ${gen}`, () => fs.mkdirSync(gen, 0o755));
  const sections = stateSections(sys);
  const d = sys.dom0();
  const p2mFile = path.join(gen, P2M_EXPORT);
  const prevP2m = from?.gen ? path.join(from.gen, P2M_EXPORT) : undefined;
  // dom0's table not read in this run is what the previous export holds: link it rather than write it again.
  const linkP2m = prevP2m !== undefined && tableUntouched(sys) && fs.existsSync(prevP2m);
  const newBytes = sections.reduce((n, s) => n + (s.carried ? 0 : (s.length ?? s.estimate ?? 0)), linkP2m ? 0 : d.p2mEntries * 4);
  const writer = writerFor(newBytes);
  const fds: number[] = [];
  let written = false;
  try {
    writeStateFile(path.join(gen, STATE_FILE), sections, from?.container, from?.file, writer, fds);
    writeNew(path.join(gen, DTB_EXPORT), [dom0Blob(sys)], writer, fds);
    if (linkP2m) fileOp(`write ${p2mFile}`, () => fs.linkSync(prevP2m, p2mFile));
    else writeNew(p2mFile, d.memory.slices(d.p2mPaddr, d.p2mEntries * 4), writer, fds);
    // Every write and flush done before anything is renamed into place.
    writer.drain();
    written = true;
  } finally {
    writer.close();
    for (const fd of fds) fs.closeSync(fd);
    // A save that failed takes its half-written folder with it (a killed one leaves it to the next writer).
    if (!written) fs.rmSync(gen, { recursive: true, force: true });
  }
  return publish(dir, genName);
}

/**
 * Swap in a generation whose files are written and flushed: flush its
 * folder, point `current` at it by one rename, the links through it, flush
 * the state folder, and remove what earlier runs left.
 */
function publish(dir: string, genName: string): SavedFiles {
  fsyncDir(path.join(dir, genName));
  swapLink(dir, CURRENT, genName);
  for (const f of FILES) {
    const want = path.join(CURRENT, f);
    let have: string | undefined;
    try {
      have = fs.readlinkSync(path.join(dir, f));
    } catch {
      have = undefined;
    }
    if (have !== want) swapLink(dir, f, want);
  }
  fsyncDir(dir);
  removeLeftovers(dir);
  return { state: path.join(dir, STATE_FILE), dtb: path.join(dir, DTB_EXPORT), p2m: path.join(dir, P2M_EXPORT) };
}

/** Point `name` in dir at `target` by one rename of a new link over it. */
function swapLink(dir: string, name: string, target: string): void {
  const tmp = tempName(path.join(dir, name));
  fileOp(`write ${path.join(dir, name)}`, () => {
    fs.symlinkSync(target, tmp);
    try {
      fs.renameSync(tmp, path.join(dir, name));
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  });
}

/** Is every chunk under dom0's table still as it was read (not loaded, so not changed)? */
function tableUntouched(sys: System): boolean {
  const d = sys.dom0();
  if (d.p2mEntries === 0) return false;
  const first = Math.floor(d.p2mPaddr / CHUNK_SIZE);
  const last = Math.floor((d.p2mPaddr + d.p2mEntries * 4 - 1) / CHUNK_SIZE);
  for (let c = first; c <= last; c++) if (!d.memory.isPending(c)) return false;
  return true;
}

/**
 * How a save carries unchanged sections: at least `linkMinBytes` of them
 * (a large state) stay in the files they are in, hard-linked into the new
 * generation as part files; fewer, and the previous file is copied and
 * appended to. A save writing at least `backgroundMinBytes` anew writes on
 * a second thread (store/writer.ts); a smaller one is not worth starting
 * it. (Tests lower them to take those paths on small states.)
 */
export const saveTuning = { linkMinBytes: 32 * 2 ** 20, backgroundMinBytes: 16 * 2 ** 20 };

/** A writing thread started ahead of its save (expectSave), not yet taken. */
let ahead: BackgroundWriter | undefined;

/**
 * A save of about `bytes` is coming (construct knows before it builds
 * dom0): when it will write on a second thread, start the thread now, so it
 * is up by the time the save begins.
 */
export function expectSave(bytes: number): void {
  if (bytes >= saveTuning.backgroundMinBytes) ahead ??= new BackgroundWriter();
}

/** The writer for a save of `bytes` new bytes: the thread started ahead, a new one, or this thread. */
function writerFor(bytes: number): SaveWriter {
  const started = ahead;
  ahead = undefined;
  if (bytes >= saveTuning.backgroundMinBytes) return started ?? new BackgroundWriter();
  started?.close();
  return new DirectWriter();
}

/**
 * The state file. When most of the bytes of the files the previous state's
 * sections are in are carried over unchanged: on a large state those files
 * are hard-linked into the new generation (part files, never written
 * again) and only the changed sections are written, into a new state file
 * that names them; on a small one the previous file is copied (by the
 * kernel) and the changed sections are appended with a new table. Else
 * every section is written anew, which also drops what earlier appends and
 * links left unused.
 */
function writeStateFile(file: string, sections: SectionWrite[], prev: StateContainer | undefined, prevFile: string | undefined, writer: SaveWriter, fds: number[]): void {
  const carriedBytes = sections.reduce((n, s) => n + (s.carried && s.from === prev ? s.carried.length : 0), 0);
  // The files carried sections are in, and their sizes (what linking them keeps on disk).
  const inFiles = new Map<string | undefined, number>();
  for (const s of sections) if (s.carried && s.from === prev) inFiles.set(s.carried.part, prev!.sizeOf(s.carried.part));
  const keptBytes = [...inFiles.values()].reduce((a, b) => a + b, 0);
  const link = prev !== undefined && prevFile !== undefined && carriedBytes >= saveTuning.linkMinBytes && carriedBytes >= keptBytes / 2;
  const append = !link && prev !== undefined && prevFile !== undefined && prev.parts.size === 0 && carriedBytes >= prev.size / 2 && prev.liveBytes >= prev.size / 2;
  let fd: number;
  let ownPart = '';
  if (link) {
    const dir = path.dirname(file);
    for (const part of inFiles.keys()) {
      if (part === undefined) {
        ownPart = `part-${randomBytes(8).toString('hex')}.bin`;
        fileOp(`write ${path.join(dir, ownPart)}`, () => fs.linkSync(prevFile!, path.join(dir, ownPart)));
      } else {
        if (!PART_PATTERN.test(part)) throw new Error(`part name ${part}`);
        fileOp(`write ${path.join(dir, part)}`, () => fs.linkSync(path.join(path.dirname(prevFile!), part), path.join(dir, part)));
      }
    }
    fd = createExclusive(file, false, `write ${file}`);
  } else if (append) {
    fileOp(`write ${file}`, () => fs.copyFileSync(prevFile!, file, fs.constants.COPYFILE_EXCL));
    fd = fileOp(`write ${file}`, () => fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW));
  } else {
    fd = createExclusive(file, false, `write ${file}`);
  }
  fds.push(fd);
  const size = writeContainer(new WriterSink(writer, fd, file), sections, link ? { linkFrom: { from: prev!, ownPart } } : append ? { appendTo: prev } : {});
  writer.truncate(fd, size, `write ${file}`);
  writer.fsync(fd, `flush ${file}`);
}

/** A new file in a fresh generation folder, written and flushed (done once the writer drains). */
function writeNew(file: string, pieces: Uint8Array[], writer: SaveWriter, fds: number[]): void {
  const fd = createExclusive(file, false, `write ${file}`);
  fds.push(fd);
  let at = 0;
  for (const p of pieces) {
    writer.write(fd, at, p, `write ${file}`);
    at += p.length;
  }
  writer.fsync(fd, `flush ${file}`);
}

/** dom0's device tree blob as it sits in its RMA (totalsize from the header). */
export function dom0Blob(sys: System): Uint8Array {
  const d = sys.dom0();
  const at = d.layout!.devtree.start;
  const head = d.memory.read(at, 8);
  const total = fdtTotalSize(head);
  const slot = d.layout!.devtree.end - at;
  return d.memory.read(at, Math.min(Math.max(total, 8), slot));
}

/**
 * Do the exports in the state folder hold what the state says (dom0's
 * device tree and table)? For validate; undefined when the folder has none
 * (a state file made elsewhere).
 */
export function exportsMatch(dir: string, sys: System): { checked: number; problems: string[] } | undefined {
  const problems: string[] = [];
  let checked = 0;
  const d = sys.dom0();
  const want: [string, () => Uint8Array[]][] = [
    [DTB_EXPORT, () => [dom0Blob(sys)]],
    [P2M_EXPORT, () => d.memory.slices(d.p2mPaddr, d.p2mEntries * 4)],
  ];
  for (const [name, bytes] of want) {
    const file = path.join(dir, name);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (e) {
      if (isFileError(e) && e.code === 'ENOENT') continue;
      throw e;
    }
    try {
      checked++;
      const src = new FileSource(fd, fs.fstatSync(fd).size, file);
      let pieces: Uint8Array[];
      try {
        pieces = bytes();
      } catch (e) {
        // The state's own tree is unreadable: devtree-readable says so; the export cannot match it.
        if (!(e instanceof DombuildError)) throw e;
        problems.push(`${name}: the state's copy cannot be read (${e.message})`);
        continue;
      }
      const total = pieces.reduce((n, p) => n + p.length, 0);
      if (src.size !== total) {
        problems.push(`${name} is ${src.size} bytes; the state's is ${total}`);
        continue;
      }
      let at = 0;
      for (const p of pieces) {
        if (!Buffer.from(src.read(at, p.length)).equals(Buffer.from(p.buffer, p.byteOffset, p.length))) {
          problems.push(`${name} differs from the state at byte ${at} or after`);
          break;
        }
        at += p.length;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return checked === 0 ? undefined : { checked, problems };
}
