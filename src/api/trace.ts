/**
 * GATEHOUSE_TRACE_REQUESTS=1 (the API benchmark): timestamps of each request and kernel
 * batch as JSON lines on stderr, with process.hrtime in ns (CLOCK_MONOTONIC, comparable
 * across the processes of the machine). A trace point costs a clock read and an array
 * push; the lines are made and written a quarter of a second later, after the burst.
 */
export const TRACING = Boolean(process.env['GATEHOUSE_TRACE_REQUESTS']);

let pending: [string, Record<string, unknown>][] = [];

export function trace(kind: string, fields: Record<string, unknown>): void {
  if (pending.length === 0) setTimeout(flush, 250).unref();
  pending.push([kind, fields]);
}

function flush(): void {
  const lines = pending.map(([kind, fields]) => `trace ${kind} ${JSON.stringify(fields, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}\n`);
  pending = [];
  process.stderr.write(lines.join(''));
}

export function now(): bigint {
  return process.hrtime.bigint();
}
