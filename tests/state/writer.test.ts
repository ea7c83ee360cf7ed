import * as fs from 'fs';
import * as path from 'path';
import { BackgroundWriter, DirectWriter, SaveWriter } from '../../src/commands/store/writer';
import { IoError } from '../../src/util/errors';
import { tempDir } from '../helpers/cli';

/** Bytes i -> (i * 7 + salt) & 0xff: every position says where it belongs. */
function pattern(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + salt) & 0xff;
  return b;
}

/**
 * A writer from `make` and a file in a fresh folder opened for it (for
 * writing; `readOnly`: an empty file opened read-only, so writes to it fail
 * with EBADF); `body` runs with them, then the writer is closed and the file
 * descriptor too.
 */
function withWriter(tag: string, make: () => SaveWriter, body: (w: SaveWriter, fd: number, file: string) => void, opts: { readOnly?: boolean } = {}): void {
  const dir = tempDir(tag);
  const file = path.join(dir, opts.readOnly ? 'ro' : 'f');
  if (opts.readOnly) fs.writeFileSync(file, '');
  const fd = fs.openSync(file, opts.readOnly ? 'r' : 'w');
  const w = make();
  try {
    body(w, fd, file);
  } finally {
    w.close();
    fs.closeSync(fd);
  }
}

describe.each([
  ['on a second thread', () => new BackgroundWriter()],
  ['on this thread', () => new DirectWriter()],
])('the save writer %s', (_name, make: () => SaveWriter) => {
  it('puts every piece at its position, across more pieces than its ring holds, reusing the caller\'s buffer at once', () => {
    withWriter('writer', make, (w, fd, file) => {
      // 40 MiB in 3 MiB pieces from one reused buffer (the hash table encoder's way), then a 9 MiB one.
      const buf = new Uint8Array(3 * 2 ** 20);
      const want = Buffer.alloc(49 * 2 ** 20);
      let at = 0;
      for (let k = 0; k < 13; k++) {
        buf.set(pattern(buf.length, k));
        w.write(fd, at, buf, `write ${file}`);
        want.set(buf, at);
        at += buf.length;
      }
      const big = pattern(want.length - at, 99);
      w.write(fd, at, big, `write ${file}`);
      want.set(big, at);
      w.truncate(fd, want.length, `write ${file}`);
      w.fsync(fd, `flush ${file}`);
      w.drain();
      expect(fs.readFileSync(file).equals(want)).toBe(true);
    });
  });

  it('shared memory (an RMA chunk) is written from where it is, beside pieces copied through the ring', () => {
    withWriter('writer-shared', make, (w, fd, file) => {
      const shared = new Uint8Array(new SharedArrayBuffer(3 * 2 ** 20));
      shared.set(pattern(shared.length, 5));
      const copied = pattern(2 ** 20, 6);
      w.write(fd, 0, copied, `write ${file}`);
      w.write(fd, copied.length, shared.subarray(100, 2 ** 20 + 100), `write ${file}`); // a view inside it
      w.fsync(fd, `flush ${file}`);
      w.drain();
      expect(fs.readFileSync(file).equals(Buffer.concat([copied, shared.subarray(100, 2 ** 20 + 100)]))).toBe(true);
    });
  });

  it('a failed write is one IoError naming the file (exit 74), after the writes before it', () => {
    withWriter('writer-fail', make, (w, fd, file) => {
      // A piece for a second, writable file first: queued before the failing write, it is done when the failure is reported.
      const other = path.join(path.dirname(file), 'ok');
      const otherFd = fs.openSync(other, 'w');
      const piece = pattern(1000, 2);
      let err: unknown;
      try {
        try {
          w.write(otherFd, 0, piece, `write ${other}`);
          w.write(fd, 0, pattern(1000, 1), `write ${file}`);
          w.fsync(fd, `flush ${file}`);
          w.drain();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(IoError);
        expect((err as IoError).message).toBe(`cannot write ${file}: EBADF`);
        expect((err as IoError).message).not.toMatch(/\n/);
        expect((err as IoError).exitCode).toBe(74);
        expect(fs.readFileSync(other).equals(piece)).toBe(true);
      } finally {
        fs.closeSync(otherFd);
      }
    }, { readOnly: true });
  });
});
