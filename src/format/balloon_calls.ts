import type { BalloonHypercall, BalloonReport } from '../guest/balloon';
import { hex } from '../util/size';

const runs = (rs: { first: number; count: number }[]): string => {
  const shown = rs.slice(0, 4).map((r) => (r.count === 1 ? hex(r.first) : `${hex(r.first)}+${r.count}`));
  return `[${shown.join(', ')}${rs.length > 4 ? `, ... (${rs.length} runs)` : ''}]`;
};

/** One line per hypercall the balloon made (for the trace option). */
export function formatBalloonCalls(r: BalloonReport): string {
  return r.hypercalls.map((c) => formatCall(c) + '\n').join('');
}

function formatCall(c: BalloonHypercall): string {
  if (c.hcall === 'memory_op') {
    return `memory_op(${c.op}, dom${c.domid}: extent_order ${c.extentOrder}, nr_extents ${c.nrExtents}, extent_start ${runs(c.extentsIn)}) = ${c.nrDone}` +
      (c.op !== 'XENMEM_decrease_reservation' ? `; extents back ${runs(c.extentsOut)}` : '');
  }
  return `${c.hcall} x ${c.calls} as dom${c.domid}: ${Object.entries(c.returned).map(([k, v]) => `${k} ${v}`).join(', ')}`;
}

/** A run of consecutive frame numbers, as every range in the JSON: {start, end}, end exclusive. */
const mfnRun = (r: { first: number; count: number }): { start: number; end: number } => ({ start: r.first, end: r.first + r.count });

/** The hypercalls as JSON (extent lists as runs of consecutive frame numbers). */
export function balloonCallsJson(r: BalloonReport): object[] {
  return r.hypercalls.map((c) => (c.hcall === 'memory_op'
    ? { hcall: c.hcall, cmd: c.cmd, op: c.op, domid: c.domid, extentOrder: c.extentOrder, nrExtents: c.nrExtents, extentStart: c.extentsIn.map(mfnRun), extentsReturned: c.op === 'XENMEM_decrease_reservation' ? null : c.extentsOut.map(mfnRun), result: c.nrDone }
    : { hcall: c.hcall, domid: c.domid, calls: c.calls, returned: c.returned }));
}
