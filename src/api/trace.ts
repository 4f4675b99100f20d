/**
 * GATEHOUSE_TRACE_REQUESTS=1 (the API benchmark): timestamps of each request and kernel
 * batch as JSON lines on stderr, with process.hrtime in ns (CLOCK_MONOTONIC, comparable
 * across the processes of the machine). Lines are buffered and written after the
 * current I/O round, so tracing a burst adds no write per request to it.
 */
export const TRACING = Boolean(process.env['GATEHOUSE_TRACE_REQUESTS']);

let pending: string[] = [];

export function trace(kind: string, fields: Record<string, unknown>): void {
  if (pending.length === 0) setTimeout(flush, 20).unref();
  pending.push(`trace ${kind} ${JSON.stringify(fields)}\n`);
}

function flush(): void {
  const lines = pending;
  pending = [];
  process.stderr.write(lines.join(''));
}

export function now(): string {
  return String(process.hrtime.bigint());
}
