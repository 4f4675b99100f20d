/**
 * The one packet-mark allocator. Every part of Gatehouse that marks packets or connections
 * (traffic-shaping classes, provider selection, the IPS bypass) takes its bits from here, so
 * no two features ever overlap. The layout is NethServer 7's, with its decimal-Mark bug fixed:
 * a class Mark is the number itself, so all of 1..63 fit the class mask.
 */

/** Traffic-shaping class: Mark 1..63, the number itself. */
export const CLASS_MASK = 0x3f;
export const CLASS_MARK_MIN = 1;
export const CLASS_MARK_MAX = 63;

/** Set on packets an IPS has already seen (NethServer's suricata bypass). */
export const IPS_BYPASS_MARK = 0x80;

/** Reserved for nDPI protocol marks on NethServer; Gatehouse never sets these bits. */
export const NDPI_MASK = 0xff00;

/** Provider selection: provider number 1..15 shifted by PROVIDER_SHIFT. */
export const PROVIDER_SHIFT = 16;
export const PROVIDER_MASK = 0xf0000;
export const PROVIDER_NUMBER_MAX = 15;

/** Bits saved to and restored from the connection mark (everything but the IPS bypass). */
export const CONNMARK_SAVE_MASK = CLASS_MASK | NDPI_MASK | PROVIDER_MASK;

/** `0x..` text as iptables and Shorewall print marks. */
export const hexMark = (value: number): string => `0x${value.toString(16)}`;

/** The packet mark of a traffic-shaping class; throws outside 1..63. */
export function classMark(mark: number): number {
  if (!Number.isInteger(mark) || mark < CLASS_MARK_MIN || mark > CLASS_MARK_MAX) {
    throw new RangeError(`class mark ${mark} is outside ${CLASS_MARK_MIN}..${CLASS_MARK_MAX}`);
  }
  return mark;
}

/** The packet mark of provider `number` (1..15); throws outside that range. */
export function providerMark(number: number): number {
  if (!Number.isInteger(number) || number < 1 || number > PROVIDER_NUMBER_MAX) {
    throw new RangeError(`provider number ${number} is outside 1..${PROVIDER_NUMBER_MAX}`);
  }
  return number << PROVIDER_SHIFT;
}
