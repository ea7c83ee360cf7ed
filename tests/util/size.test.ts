import { formatSize, GiB, KiB, MiB, parseSize } from '../../src/util/size';
import { UsageError } from '../../src/util/errors';

describe('parseSize', () => {
  it.each([
    ['4G', 4 * GiB], ['4GiB', 4 * GiB], ['512M', 512 * MiB], ['64MiB', 64 * MiB], ['16K', 16 * KiB],
    ['0x4000000', 64 * MiB], ['4096', 4096], ['1T', 1024 * GiB], ['32752M', 32 * GiB - 16 * MiB], ['4g', 4 * GiB], ['8MB', 8 * MiB],
  ])('%s is %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['4X', '', 'G', '1.5G', '-4G', '0xZZ', '4 G G', '4GiBs'])('%j is a usage error', (text) => {
    expect(() => parseSize(text, '--mem')).toThrow(UsageError);
    expect(() => parseSize(text, '--mem')).toThrow(/--mem/);
  });
});

describe('formatSize', () => {
  it.each([
    [32 * GiB, '32 GiB'], [32 * GiB - 4 * MiB, '32 GiB - 4 MiB'], [32 * GiB - 16 * MiB, '32 GiB - 16 MiB'],
    [64 * MiB, '64 MiB'], [4096, '4 KiB'], [100, '100 B'], [32 * MiB - 16 * KiB, '32 MiB - 16 KiB'],
  ])('%d is %s', (bytes, text) => expect(formatSize(bytes)).toBe(text));
});
