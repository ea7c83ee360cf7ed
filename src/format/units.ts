import { formatSize, hex } from '../util/size';

/** Range text as the tools print it: [start, end) in hex. */
export const range = (start: number, end: number): string => `${hex(start)}..${hex(end - 1)}`;
export { formatSize, hex };
