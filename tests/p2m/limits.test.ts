import { brokenFigure, limitFigures, minimumRma } from '../../src/p2m/limits';
import { GiB, MiB } from '../../src/util/size';

describe('the 32 GiB limit math', () => {
  it('gives SPEC\'s figures for a 64 MiB RMA with the table at 32 MiB', () => {
    const f = limitFigures(64 * MiB, 32 * MiB);
    expect(f.wholeRestEntries).toBe(8 * 1024 * 1024);
    expect(f.wholeRestBytes).toBe(32 * GiB);
    expect(f.capacityBytes).toBe(32 * GiB - 4 * MiB);
    expect(f.maxDomainBytes).toBe(32 * GiB - 16 * MiB);
  });

  it('halves every figure with 8-byte entries', () => {
    const f4 = limitFigures(64 * MiB, 32 * MiB, 4);
    const f8 = limitFigures(64 * MiB, 32 * MiB, 8);
    expect(f8.wholeRestBytes).toBe(f4.wholeRestBytes / 2);
    expect(f8.capacityEntries).toBe(f4.capacityEntries / 2);
    expect(f8.maxDomainBytes).toBe(16 * GiB - 16 * MiB);
  });

  it('names the figure a domain breaks', () => {
    const f = limitFigures(64 * MiB, 32 * MiB);
    expect(brokenFigure(f, 32 * GiB - 16 * MiB)).toBeUndefined();
    expect(brokenFigure(f, 32 * GiB - 8 * MiB)).toBe('max-domain');
    expect(brokenFigure(f, 32 * GiB)).toBe('capacity');
  });

  it('finds the smallest RMA whose layout holds the table', () => {
    const at32 = (): number => 32 * MiB;
    expect(minimumRma(4 * GiB, at32)).toBe(64 * MiB);
    expect(minimumRma(32 * GiB, at32)).toBe(128 * MiB);
    expect(minimumRma(200 * GiB, at32)).toBe(256 * MiB);
  });
});
