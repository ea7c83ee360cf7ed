import * as fs from 'fs';
import { MessageChannel, receiveMessageOnPort, Worker } from 'worker_threads';
import type { ByteSink } from '../../state/container';
import { fileOp, ioError, writeAt } from './file';

/**
 * Where a save's writes and flushes go: straight to the file (small saves),
 * or to a second thread (large ones), so the kernel copying pieces into the
 * page cache and flushing them to the disk overlaps the main thread
 * encoding the next ones. Either way a save ends with `drain()`, after which
 * every write and flush queued before it is done, or its failure thrown as
 * one IoError; only then may a file be renamed into place.
 */
export interface SaveWriter {
  write(fd: number, position: number, bytes: Uint8Array, what: string): void;
  truncate(fd: number, size: number, what: string): void;
  fsync(fd: number, what: string): void;
  /** Wait for everything queued; throws the first failure. */
  drain(): void;
  /** Stop the thread, if any (after drain, or when giving up). */
  close(): void;
}

/** Writes done as they are asked for, on this thread. */
export class DirectWriter implements SaveWriter {
  write(fd: number, position: number, bytes: Uint8Array, what: string): void {
    writeAt(fd, position, bytes, what);
  }
  truncate(fd: number, size: number, what: string): void {
    fileOp(what, () => fs.ftruncateSync(fd, size));
  }
  fsync(fd: number, what: string): void {
    fileOp(what, () => fs.fsyncSync(fd));
  }
  drain(): void {}
  close(): void {}
}

/** The ring the main thread copies pieces into: SLOTS pieces of SLOT_BYTES in flight at most. */
const SLOT_BYTES = 4 * 2 ** 20;
const SLOTS = 8;

// The writing thread, as source (it must load the same under jest's transform and from dist/).
// ctl[0]: operations completed. Operations run in order; after a failure the rest are skipped.
const WORKER_SOURCE = `
const fs = require('fs');
const { parentPort, workerData } = require('worker_threads');
const { ring, ctl, errors, slotBytes } = workerData;
const bytes = new Uint8Array(ring);
const counters = new Int32Array(ctl);
let failed = false;
parentPort.on('message', (op) => {
  if (!failed) {
    try {
      if (op.op === 'write') {
        const from = op.buffer ? new Uint8Array(op.buffer) : bytes;
        const at = op.buffer ? op.offset : op.slot * slotBytes;
        let done = 0;
        while (done < op.length) done += fs.writeSync(op.fd, from, at + done, op.length - done, op.position + done);
      } else if (op.op === 'truncate') fs.ftruncateSync(op.fd, op.size);
      else if (op.op === 'fsync') fs.fsyncSync(op.fd);
    } catch (e) {
      failed = true;
      errors.postMessage({ what: op.what, code: e.code, syscall: e.syscall, message: e.message });
    }
  }
  Atomics.add(counters, 0, 1);
  Atomics.notify(counters, 0);
});
`;

/**
 * Writes on a second thread. Each piece is copied into a slot of a shared
 * ring (the caller's buffer is free again at once: the hash table's encoder
 * reuses its own) and the thread told which slot, file and position; the
 * main thread waits only when all slots are in flight. A piece that is
 * shared memory already (an RMA chunk) is not copied: the thread writes it
 * from where it is, and the caller must not change it before drain().
 */
export class BackgroundWriter implements SaveWriter {
  private readonly ring = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
  private readonly bytes = new Uint8Array(this.ring);
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4));
  private readonly channel = new MessageChannel();
  private readonly worker: Worker;
  private submitted = 0;
  /** Per slot: the operation number that last used it (done once ctl[0] passes it). */
  private readonly slotOp = new Array<number>(SLOTS).fill(-1);
  private nextSlot = 0;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ring: this.ring, ctl: this.ctl.buffer, errors: this.channel.port2, slotBytes: SLOT_BYTES },
      transferList: [this.channel.port2],
    });
    // Never what keeps the process alive: a save drains before it returns.
    this.worker.unref();
  }

  write(fd: number, position: number, bytes: Uint8Array, what: string): void {
    if (bytes.buffer instanceof SharedArrayBuffer) {
      // Shared memory (an RMA chunk) is written where it is: the caller leaves it alone until drain().
      this.post({ op: 'write', fd, position, buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.length, what });
      return;
    }
    for (let done = 0; done < bytes.length; ) {
      const length = Math.min(SLOT_BYTES, bytes.length - done);
      const slot = this.nextSlot;
      this.nextSlot = (slot + 1) % SLOTS;
      this.waitFor(this.slotOp[slot] + 1);
      this.bytes.set(bytes.subarray(done, done + length), slot * SLOT_BYTES);
      this.slotOp[slot] = this.post({ op: 'write', fd, position: position + done, slot, length, what });
      done += length;
    }
  }

  truncate(fd: number, size: number, what: string): void {
    this.post({ op: 'truncate', fd, size, what });
  }

  fsync(fd: number, what: string): void {
    this.post({ op: 'fsync', fd, what });
  }

  drain(): void {
    this.waitFor(this.submitted);
    const failure = receiveMessageOnPort(this.channel.port1)?.message as { what: string; code: string; syscall: string; message: string } | undefined;
    if (failure) throw ioError(failure.what, Object.assign(new Error(failure.message), { code: failure.code, syscall: failure.syscall }));
  }

  close(): void {
    void this.worker.terminate();
    this.channel.port1.close();
  }

  private post(op: object): number {
    this.worker.postMessage(op);
    return this.submitted++;
  }

  /** Block until `n` operations are done (Atomics.wait: the thread notifies after each). */
  private waitFor(n: number): void {
    for (let done = Atomics.load(this.ctl, 0); done < n; done = Atomics.load(this.ctl, 0)) Atomics.wait(this.ctl, 0, done);
  }
}

/** A section sink writing through a SaveWriter into one open file. */
export class WriterSink implements ByteSink {
  constructor(private readonly w: SaveWriter, private readonly fd: number, private readonly file: string) {}

  write(position: number, bytes: Uint8Array): void {
    this.w.write(this.fd, position, bytes, `write ${this.file}`);
  }
}
