/** One step of construct_dom0, with its figures, for the trace. */
export interface TraceEvent { step: number; title: string; facts: [string, string][] }
export type Tracer = (ev: TraceEvent) => void;
