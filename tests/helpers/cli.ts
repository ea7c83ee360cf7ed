import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run } from '../../src/cli';
import type { Io } from '../../src/commands/io';

export interface CliResult { code: number; out: string; err: string; bytes: Buffer }

/** Run the CLI in-process with captured streams (not a TTY unless asked). */
export async function cli(args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; tty?: boolean }): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => out.push(Buffer.from(t)),
    outBytes: (b) => out.push(Buffer.from(b)),
    err: (t) => err.push(t),
    stdoutTTY: !!opts.tty,
    stderrTTY: !!opts.tty,
    env: opts.env ?? {},
    cwd: opts.cwd,
  };
  const code = await run(args, io);
  const bytes = Buffer.concat(out);
  return { code, out: bytes.toString('utf8'), err: err.join(''), bytes };
}

/** A scratch directory under the run's root (removed at the end of the run; PPCDB_KEEP_TEST_DIRS=1 keeps it). */
export function tempDir(tag: string): string {
  const root = process.env.PPCDB_TEST_ROOT ?? os.tmpdir();
  return fs.mkdtempSync(path.join(root, `ppcdb-${tag}-`));
}

/**
 * A scratch directory with `construct ARGS` run in it before the describe's
 * tests: `built.dir` and `built.result` once beforeAll has run.
 */
export function constructedDir(tag: string, args: string[]): { dir: string; result: CliResult; ok(): string } {
  const built = {
    dir: '',
    result: undefined as unknown as CliResult,
    /** The directory, once the construct is known to have exited 0. */
    ok(): string {
      expect(built.result.code).toBe(0);
      return built.dir;
    },
  };
  beforeAll(async () => {
    built.dir = tempDir(tag);
    built.result = await cli(['construct', ...args], { cwd: built.dir });
  });
  return built;
}

/** The machine's free pages: the domain heap's and the Xen heap's (`inspect machine --json`). */
export const heaps = async (cwd: string): Promise<{ dom: number; xen: number }> => {
  const d = JSON.parse((await cli(['inspect', 'machine', '--json'], { cwd })).out);
  return { dom: d.domainHeap.freePages, xen: d.xenHeap.freePages };
};

export { itWith } from './tools';
