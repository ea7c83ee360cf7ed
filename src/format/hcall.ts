import { doc } from './contract';
import type { Paint } from './paint';
import { hex } from '../util/size';

/** One hypercall as `ppc-dombuild hcall` made it. */
export interface HcallView {
  name: string;
  opcode: number;
  domid: number;
  /** Arguments by name (r4..), as given. */
  args: [string, bigint][];
  ret: number;
  retName: string;
  /** Output registers by name (r4..), set only when the hcall returned H_SUCCESS. */
  out: [string, bigint][];
  saved: boolean;
}


export function formatHcall(p: Paint, v: HcallView): string {
  const args = v.args.map(([k, x]) => `${k} ${hex(x)}`).join(', ');
  const ok = v.ret === 0;
  const lines = [`${v.name}(${args}) as dom${v.domid}`, `returned ${ok ? p.green(v.retName) : p.red(v.retName)} (${v.ret})`];
  for (const [k, x] of v.out) lines.push(`  ${k} = ${hex(x)}`);
  if (v.saved) lines.push('state saved');
  return lines.join('\n') + '\n';
}

export function hcallJson(v: HcallView): object {
  // Register values are 64-bit words: 0x strings (docs/json.md).
  return doc('hcall', {
    hcall: v.name,
    opcode: v.opcode,
    domid: v.domid,
    args: Object.fromEntries(v.args.map(([k, x]) => [k, hex(x)])),
    return: { name: v.retName, value: v.ret },
    out: v.out.map(([name, x]) => ({ register: name.split(' ')[0], what: name.replace(/^r\d+ \((.*)\)$/, '$1'), value: hex(x) })),
    saved: v.saved,
  });
}
