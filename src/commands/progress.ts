import type { ProgressFn } from '../guest/linear_map';
import { paint, type Io } from './io';

export interface ProgressOptions {
  /** Draw nothing for work smaller than this (units of `total`). */
  minTotal?: number;
  width?: number;
}

/**
 * A progress bar on stderr for long work, redrawn in place with \r and
 * cleared when the work is done. Only on a terminal: when stderr is piped or
 * redirected this returns undefined and the work reports nothing.
 */
export function progressBar(io: Io, label: string, opt: ProgressOptions = {}): ProgressFn | undefined {
  if (!io.stderrTTY) return undefined;
  const p = paint(io, io.stderrTTY);
  const width = opt.width ?? 30;
  const minTotal = opt.minTotal ?? 4096;
  let lastPct = -1;
  let drawn = false;
  return (done: number, total: number): void => {
    if (total < minTotal) return;
    const pct = Math.min(100, Math.floor((done * 100) / total));
    if (done >= total) {
      if (drawn) io.err('\r\x1b[K');
      drawn = false;
      lastPct = -1;
      return;
    }
    if (pct === lastPct) return;
    lastPct = pct;
    const filled = Math.round((width * done) / total);
    io.err(`\r${label} ${p.cyan('█'.repeat(filled))}${p.dim('░'.repeat(width - filled))} ${String(pct).padStart(3)}% ${done}/${total}`);
    drawn = true;
  };
}
