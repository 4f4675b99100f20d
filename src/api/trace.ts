/**
 * GATEHOUSE_TRACE_REQUESTS=1 (the API benchmark): timestamps of each request (when its
 * handler began) and kernel batch as JSON lines on stderr, with process.hrtime in ns as
 * strings (CLOCK_MONOTONIC, comparable across the processes of the machine). A trace
 * point costs a clock read and an array push, and no fastify hook (three hooks cost the
 * traced API a third more CPU per request than the API it measures); the lines are made
 * and written a quarter of a second later, after the burst.
 */
export const TRACING = Boolean(process.env['GATEHOUSE_TRACE_REQUESTS']);

let pending: [string, Record<string, unknown>][] = [];

export function trace(kind: string, fields: Record<string, unknown>): void {
  if (pending.length === 0) setTimeout(flush, 250).unref();
  pending.push([kind, fields]);
}

function flush(): void {
  const lines = pending.map(([kind, fields]) => `trace ${kind} ${JSON.stringify(fields)}\n`);
  pending = [];
  process.stderr.write(lines.join(''));
}

export function now(): bigint {
  return process.hrtime.bigint();
}
