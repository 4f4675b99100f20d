/**
 * `configuration firewall nfqueue=enabled`: traffic between red and the other zones goes
 * through NFQUEUE to an IPS (Suricata on NethServer), as NethServer's NFQBY action did in
 * the ESTABLISHED section, so the rules still decide which connections exist and the IPS
 * sees each of them from its first answer on, in both directions. `--queue-bypass` lets
 * packets through while no IPS reads the queue, so a stopped IPS never stops traffic. An
 * IPS that gives up inspecting a connection sets the bypass bit (0x80, src/marks) on the
 * packet; the mangle file saves it to the connection mark, and packets of a connection
 * carrying it skip the queue.
 */
import { IPS_BYPASS_MARK } from '../marks/index.js';
import { row } from './text.js';
import type { Row } from './types.js';

const BIT = `0x${IPS_BYPASS_MARK.toString(16)}`;

/** The rules file's ESTABLISHED-section lines: every zone to and from red (net), the firewall included. */
export function nfqueueRules(enabled: boolean, zones: string[]): Row[] {
  if (!enabled || !zones.includes('net')) return [];
  const action = 'NFQUEUE(0,bypass)';
  const notBypassed = `!${BIT}/${BIT}:C`;
  return [row(action, 'net', 'all', '', '', '', '', '', '', notBypassed), row(action, 'all', 'net', '', '', '', '', '', '', notBypassed)];
}

/** The mangle line that keeps an IPS's bypass decision for the rest of the connection. */
export function ipsBypassMangle(enabled: boolean, zones: string[]): Row[] {
  if (!enabled || !zones.includes('net')) return [];
  return [row(`SAVE(${BIT}):T`, '', '', '', '', '', '', `${BIT}/${BIT}`)];
}
