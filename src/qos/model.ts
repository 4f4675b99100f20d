/**
 * Traffic shaping from the databases: the `tc` classes, the red interfaces' bandwidths and
 * the fwrules with `Action=class;NAME` become (1) mangle rows that put a connection's
 * packets in a class (MARK(<Mark>/0x3f), the Mark itself, not NethServer's hex of the
 * decimal) and (2) the FireQOS interfaces and classes that shape each class. Pure: data
 * in, rows and lines out. Every class rule takes effect, or fails the event naming the
 * record, or yields a warning naming it.
 */
import type { Database } from '../db/index.js';
import { GatehouseError, type Place } from '../errors/index.js';
import { CLASS_MASK, CLASS_MARK_MAX, CLASS_MARK_MIN, hexMark } from '../marks/index.js';
import {
  commentText,
  namedGroups,
  objectResolver,
  propOf,
  readNetwork,
  row,
  serviceResolver,
  sortRuleKeys,
  localUtcOffsets,
  timeWindowsOf,
  zoneRecordNetwork,
  type CommentedRows,
  type UtcOffsets,
  type Endpoint,
  type NetworkView,
} from '../model/index.js';

type Family = 'ipv4' | 'ipv6';
const FAMILIES: Family[] = ['ipv4', 'ipv6'];

/** Leaf qdiscs FireQOS can put under each class; the first is the production default. */
export const LEAF_QDISCS = ['fq_codel', 'sfq', 'codel', 'pfifo', 'bfifo'] as const;
export type LeafQdisc = (typeof LEAF_QDISCS)[number];
export const DEFAULT_LEAF_QDISC: LeafQdisc = 'fq_codel';
/** What every kernel with HTB also has: the fallback when the configured leaf is missing. */
export const FALLBACK_LEAF_QDISC: LeafQdisc = 'pfifo';

/**
 * TCLinklayer values (the schema's) and the FireQOS link layer each means; `ethernet` when
 * unset, as NethServer writes it. ADSL carries IP in ATM cells (the cell tax matters; the
 * encapsulation FireQOS's own `adsl` keyword needs is not in the databases); VDSL2 uses PTM,
 * framed like Ethernet. `none` leaves the link layer out.
 */
const LINK_LAYERS: Readonly<Record<string, string | undefined>> = { ethernet: 'ethernet', atm: 'atm', adsl: 'atm', vdsl2: 'ethernet', none: undefined };
export const DEFAULT_LINK_LAYER = 'ethernet';

/** A class's rates on one side: FireQOS `commit` (guaranteed) and `ceil` (cap), with their unit. */
export interface ClassRates {
  commit?: string;
  ceil?: string;
}

export interface ShapedClass {
  name: string;
  mark: number;
  input: ClassRates;
  output: ClassRates;
  /**
   * FireQOS matches that recognise the class's download traffic without the connection
   * mark (which needs act_connmark at ingress): the rules' ports and remote hosts, seen
   * from the reply's side. Empty when some rule of the class cannot be written that way.
   */
  inboundMatches: string[];
  /** True when every rule of the class has inbound matches (so the fallback is complete). */
  inboundComplete: boolean;
}

export interface ShapedInterface {
  /** Kernel name of the red interface. */
  device: string;
  /** FireQOS name: the provider's name, else red-<device>. */
  name: string;
  /** kbit/s, from FwInBandwidth / FwOutBandwidth. */
  inputRate: number;
  outputRate: number;
  linklayer: string | undefined;
  classes: ShapedClass[];
}

/** One red interface's part of fireqos.conf: its output and input blocks, lines ready to print. */
export interface FireqosBlock {
  comment: string;
  lines: string[];
}

export interface QosModel {
  interfaces: ShapedInterface[];
  /** fireqos.conf, one block per shaped red interface. */
  fireqos: FireqosBlock[];
  leafQdisc: LeafQdisc;
  /** Class rules as mangle rows, per family, in rule Position order. */
  mangle: Record<Family, CommentedRows[]>;
  /** Shaped classes whose download side only the connection mark can recognise (act_connmark). */
  connmarkOnly: string[];
  /** Marks of every class that has one (for the FireQOS side and for status). */
  classes: { name: string; mark: number }[];
  warnings: string[];
}

/** As the model's (BuildModelOptions): class rules' time windows use the same zone and moment as filter rules'. */
export interface QosOptions {
  /** IANA time zone (default: the configured TimeZone, else the process's). */
  timeZone?: string;
  /** The moment from which the zone's offsets apply (default: now). */
  now?: Date;
}

function rateText(value: string | undefined, unit: string): string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  return `${n}${unit}`;
}

function bandwidth(networks: Database, key: string, prop: 'FwInBandwidth' | 'FwOutBandwidth'): number | undefined {
  const text = propOf(networks, key, prop);
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    throw new GatehouseError(`${prop} '${text}' is not a bandwidth in kbit/s`, { place: { db: 'networks', key, prop }, hint: 'a whole number of kbit/s such as 10000, or empty to disable shaping' });
  }
  return n;
}

/** The red interfaces with both bandwidths, with their FireQOS names. */
function shapedInterfaces(networks: Database, view: NetworkView, firewall: Database | undefined): Omit<ShapedInterface, 'classes'>[] {
  const providers = new Map<string, string>();
  for (const key of Object.keys(networks).sort()) {
    if (networks[key]?.type !== 'provider') continue;
    const dev = propOf(networks, key, 'interface');
    if (dev !== undefined && !providers.has(dev)) providers.set(dev, key);
  }
  const globalLinklayer = firewall ? propOf(firewall, 'firewall', 'TCLinklayer') : undefined;
  const out: Omit<ShapedInterface, 'classes'>[] = [];
  for (const iface of view.interfaces) {
    if (iface.role !== 'red') continue;
    const inputRate = bandwidth(networks, iface.name, 'FwInBandwidth');
    const outputRate = bandwidth(networks, iface.name, 'FwOutBandwidth');
    if (inputRate === undefined || outputRate === undefined) continue;
    const own = propOf(networks, iface.name, 'TCLinklayer');
    const linklayer = ((own ?? globalLinklayer)?.trim().toLowerCase() || DEFAULT_LINK_LAYER);
    if (!Object.hasOwn(LINK_LAYERS, linklayer)) {
      throw new GatehouseError(`TCLinklayer '${linklayer}' is not a link layer Gatehouse knows`, {
        place: own !== undefined ? { db: 'networks', key: iface.name, prop: 'TCLinklayer' } : { db: 'configuration', key: 'firewall', prop: 'TCLinklayer' },
        hint: `${Object.keys(LINK_LAYERS).join(', ')} (default ${DEFAULT_LINK_LAYER})`,
      });
    }
    out.push({
      device: iface.name,
      name: providers.get(iface.name) ?? `red-${iface.name}`,
      inputRate,
      outputRate,
      linklayer: LINK_LAYERS[linklayer],
    });
  }
  return out;
}

interface ClassRecord {
  name: string;
  mark: number | undefined;
  input: ClassRates;
  output: ClassRates;
  bindTo: string[] | undefined;
}

function readClasses(tc: Database): Map<string, ClassRecord> {
  const out = new Map<string, ClassRecord>();
  for (const key of Object.keys(tc).sort()) {
    if (tc[key]?.type !== 'class') continue;
    const place = (prop: string): Place => ({ db: 'tc', key, prop });
    const markText = propOf(tc, key, 'Mark');
    let mark: number | undefined;
    if (markText !== undefined && markText.trim() !== '') {
      mark = Number(markText);
      if (!Number.isInteger(mark) || mark < CLASS_MARK_MIN || mark > CLASS_MARK_MAX) {
        throw new GatehouseError(`Mark '${markText}' is not a class mark`, { place: place('Mark'), hint: `a whole number ${CLASS_MARK_MIN}..${CLASS_MARK_MAX} (the class mask is ${hexMark(CLASS_MASK)})` });
      }
    }
    const unit = (propOf(tc, key, 'Unit') ?? '%').trim() || '%';
    if (!/^(%|bit|kbit|mbit|gbit)$/.test(unit)) throw new GatehouseError(`Unit '${unit}' is not a rate unit`, { place: place('Unit'), hint: '%, bit, kbit, mbit or gbit' });
    const rates = (min: string, max: string): ClassRates => {
      const out: ClassRates = {};
      for (const [prop, field] of [[min, 'commit'], [max, 'ceil']] as const) {
        const text = propOf(tc, key, prop);
        if (text !== undefined && text.trim() !== '' && !/^\d+(\.\d+)?$/.test(text.trim())) {
          throw new GatehouseError(`${prop} '${text}' is not a number`, { place: place(prop), hint: `a rate in ${unit}, or empty` });
        }
        if (unit === '%' && Number(text) > 100) throw new GatehouseError(`${prop} '${text}' is more than 100%`, { place: place(prop), hint: 'a percentage 0..100, or set Unit to kbit/mbit' });
        const r = rateText(text, unit);
        if (r !== undefined) out[field] = r;
      }
      return out;
    };
    const bind = propOf(tc, key, 'BindTo');
    const bindTo = bind === undefined || bind.trim() === '' ? undefined : bind.split(',').map((s) => s.trim()).filter((s) => s !== '');
    out.set(key, { name: key, mark, input: rates('MinInputRate', 'MaxInputRate'), output: rates('MinOutputRate', 'MaxOutputRate'), bindTo });
  }
  return out;
}

const hasRates = (r: ClassRates): boolean => r.commit !== undefined || r.ceil !== undefined;

/** FireQOS rate parameters of one side: `commit 10% ceil 90%`. */
export function rateParams(r: ClassRates): string {
  return [r.commit && `commit ${r.commit}`, r.ceil && `ceil ${r.ceil}`].filter(Boolean).join(' ');
}

/**
 * FireQOS `match` lines for the reply (download) side of a class rule, or undefined when
 * impossible. Remote hosts need the family's own keyword (match4 / match6): FireQOS's
 * interface46 would otherwise try an IPv4 address in an IPv6 filter.
 */
function inboundMatchLines(proto: string, dport: string, remote: Record<Family, string[]>): string[] | undefined {
  const hosts = [...remote.ipv4.map((r) => ['match4', r]), ...remote.ipv6.map((r) => ['match6', r])] as [string, string][];
  if (proto === '' && dport === '' && hosts.length === 0) return undefined;
  const protoPart = proto === '' ? '' : proto === 'tcpudp' ? ' proto tcp,udp' : ` proto ${proto}`;
  if (dport !== '' && !['tcp', 'udp', 'tcpudp'].includes(proto)) return undefined;
  const portParts = dport === '' ? [''] : dport.split(',').map((p) => ` sport ${p}`);
  const out: string[] = [];
  for (const port of portParts) {
    if (hosts.length === 0) out.push(`match${protoPart}${port}`);
    for (const [keyword, host] of hosts) out.push(`${keyword}${protoPart}${port} src ${host}`);
  }
  return out;
}

/** Source of a class rule in the mangle file (NethServer's mapping, with role networks instead of interfaces). */
function sourceCells(ref: string, endpoints: Endpoint[], view: NetworkView, family: Family, place: Place): string[] | 'firewall' {
  const lower = ref.toLowerCase();
  if (lower === 'any') return ['-'];
  if (lower === 'fw') return 'firewall';
  if (lower.startsWith('mac;')) {
    throw new GatehouseError('a MAC address cannot be matched where class marks are set (after routing)', { place, hint: 'use the host object (its IP address) as Src' });
  }
  if (lower.startsWith('role;')) {
    const role = ref.slice(5);
    if (role === 'red') throw new GatehouseError('Src role;red cannot be a class rule source', { place, hint: 'class rules shape traffic leaving by red: use a green, blue or orange role, a zone or a host' });
    const nets = view.interfaces.filter((i) => i.role === role).flatMap((i) => i[family].map((a) => a.network));
    return [...new Set(nets)];
  }
  if (lower.startsWith('zone;')) {
    const record = view.zoneRecords.get(ref.slice(5));
    if (!record) throw new GatehouseError(`refers to zone '${ref.slice(5)}', which does not exist`, { place, hint: 'create a zone record or fix the reference' });
    const network = zoneRecordNetwork(record, family);
    return network ? [plainNetwork(network.ip.toString(), network.prefix)] : [];
  }
  return endpoints.filter((e) => e.family === family || e.family === 'any').flatMap((e) => e.plain.map((p) => (family === 'ipv6' ? bracket(p) : p)));
}

function plainNetwork(ip: string, prefix: number): string {
  return `${ip}/${prefix}`;
}

function bracket(address: string): string {
  return address.startsWith('[') ? address : `[${address}]`;
}

export function buildQosModel(dbs: Record<string, Database>, options: QosOptions = {}): QosModel {
  // Worked out only when a class rule has a time window.
  let offsets: UtcOffsets | undefined;
  const offsetsOf = (): UtcOffsets => (offsets ??= localUtcOffsets(dbs['configuration'] ?? {}, options));
  const networks = dbs['networks'] ?? {};
  const tc = dbs['tc'] ?? {};
  const fwrules = dbs['fwrules'] ?? {};
  const fwtimes = dbs['fwtimes'] ?? {};
  const configuration = dbs['configuration'];
  const view = readNetwork(networks);
  const objects = objectResolver(view, dbs);
  const services = serviceResolver(dbs);
  const warnings: string[] = [];
  const classes = readClasses(tc);

  const leafText = (configuration ? propOf(configuration, 'firewall', 'TcLeafQdisc') : undefined)?.trim() || DEFAULT_LEAF_QDISC;
  if (!(LEAF_QDISCS as readonly string[]).includes(leafText)) {
    throw new GatehouseError(`TcLeafQdisc '${leafText}' is not a leaf qdisc FireQOS can use`, { place: { db: 'configuration', key: 'firewall', prop: 'TcLeafQdisc' }, hint: LEAF_QDISCS.join(', ') });
  }

  const mangle: Record<Family, CommentedRows[]> = { ipv4: [], ipv6: [] };
  /** Per class: inbound matches, and whether every rule produced some. */
  const inbound = new Map<string, { lines: string[]; complete: boolean }>();
  const keys = Object.keys(fwrules).filter((k) => fwrules[k]?.type === 'rule');
  for (const key of sortRuleKeys(fwrules, keys)) {
    const action = propOf(fwrules, key, 'Action') ?? '';
    if (!/^class;/i.test(action)) continue;
    if ((propOf(fwrules, key, 'status') ?? 'enabled') === 'disabled') continue;
    const place = (prop: string): Place => ({ db: 'fwrules', key, prop });
    const className = action.slice(6);
    const cls = classes.get(className);
    if (!cls) {
      throw new GatehouseError(`refers to class '${className}', which does not exist`, { place: place('Action'), hint: `create it in the tc database (type class) or use one of: ${[...classes.keys()].join(', ') || 'none'}` });
    }
    if (cls.mark === undefined) {
      warnings.push(`fwrules/${key}: class '${className}' has no Mark, so the rule cannot mark traffic (set tc/${className}/Mark to 1..63)`);
      continue;
    }
    const srcRef = propOf(fwrules, key, 'Src') ?? 'any';
    const dstRef = propOf(fwrules, key, 'Dst') ?? 'any';
    const srcEndpoints = /^(any|fw|role;|zone;|mac;)/i.test(srcRef) ? [] : objects.endpoints(srcRef, place('Src'));
    let dstEndpoints: Endpoint[] = [];
    const dstLower = dstRef.toLowerCase();
    if (dstLower.startsWith('role;') && dstLower !== 'role;red') {
      throw new GatehouseError(`Dst '${dstRef}': class rules shape traffic leaving by red`, { place: place('Dst'), hint: 'use role;red, any, a host, a zone, a cidr or a range' });
    }
    if (dstLower === 'fw') throw new GatehouseError('Dst fw: traffic to the firewall is never shaped', { place: place('Dst'), hint: 'use role;red, a host, a zone, a cidr or a range' });
    const dstAny = dstLower === 'any' || dstLower === 'role;red';
    if (!dstAny) dstEndpoints = dstLower.startsWith('zone;') ? [] : objects.endpoints(dstRef, place('Dst'));
    const serviceRef = propOf(fwrules, key, 'Service') ?? 'any';
    if (/^ndpi;/i.test(serviceRef)) throw new GatehouseError(`Service '${serviceRef}': nDPI protocols are not supported`, { place: place('Service'), hint: 'use a fwservice or ports' });
    const service = services.resolve(serviceRef.trim() === '' ? 'any' : serviceRef, place('Service'));
    if (service.local) throw new GatehouseError('a local service (service;K) cannot be a class rule service', { place: place('Service'), hint: 'use a fwservice' });

    const times = timeWindowsOf(fwtimes, propOf(fwrules, key, 'Time'), place('Time'), offsetsOf);

    const description = propOf(fwrules, key, 'Description');
    const comment = commentText(description !== undefined && description.trim() !== '' ? description : `RULE#${key} ${serviceRef}`);
    const markAction = `MARK(${cls.mark}/${hexMark(CLASS_MASK)})`;
    let emitted = 0;
    const remote: Record<Family, string[]> = { ipv4: [], ipv6: [] };
    for (const family of FAMILIES) {
      const src = sourceCells(srcRef, srcEndpoints, view, family, place('Src'));
      let dst: string[];
      if (dstAny) dst = ['-'];
      else if (dstLower.startsWith('zone;')) dst = sourceCells(dstRef, [], view, family, place('Dst')) as string[];
      else dst = dstEndpoints.filter((e) => e.family === family || e.family === 'any').flatMap((e) => e.plain.map((p) => (family === 'ipv6' ? bracket(p) : p)));
      if (!dstAny) remote[family].push(...dst.map((d) => d.replace(/^\[|\]$/g, '')));
      const ports = service.ports.filter((p) => p.families.includes(family));
      const rows = [];
      const timeColumn = family === 'ipv4' ? 15 : 16;
      for (const s of src === 'firewall' ? ['$FW'] : src) {
        const act = src === 'firewall' ? markAction : `${markAction}:T`;
        for (const d of dst) {
          for (const p of ports) {
            for (const t of times) {
              const cells = [act, s, d, p.proto, p.dport];
              while (cells.length < timeColumn) cells.push('-');
              cells.push(t);
              rows.push(row(...cells));
            }
          }
        }
      }
      if (rows.length > 0) {
        mangle[family].push({ comment, rows });
        emitted += rows.length;
      }
    }
    if (emitted === 0) {
      warnings.push(`fwrules/${key}: Src '${srcRef}', Dst '${dstRef}' and Service '${serviceRef}' give no address to mark (an interface without an address?), so the rule marks nothing yet`);
    }

    // The download side seen at the red interface's ingress: the reply comes from the rule's
    // destination (src there) and its destination port (sport there), before NAT is undone.
    const entry = inbound.get(className) ?? { lines: [], complete: true };
    const lines = service.ports.flatMap((p) => inboundMatchLines(p.proto, p.dport, remote) ?? ['']);
    if (lines.length === 0 || lines.includes('')) entry.complete = false;
    for (const l of lines) if (l !== '' && !entry.lines.includes(l)) entry.lines.push(l);
    if (lines.some((l) => l !== '') && srcRef.toLowerCase() !== 'any' && srcRef.toLowerCase() !== 'fw') {
      warnings.push(`fwrules/${key}: without act_connmark, inbound traffic of class '${className}' is recognised by ports and remote hosts only (Src '${srcRef}' is not visible before NAT is undone)`);
    }
    inbound.set(className, entry);
  }

  const shaped = shapedInterfaces(networks, view, configuration);
  const interfaces: ShapedInterface[] = shaped.map((iface) => {
    const list: ShapedClass[] = [];
    for (const cls of classes.values()) {
      if (cls.mark === undefined) continue;
      if (cls.bindTo && !cls.bindTo.includes(iface.device)) continue;
      if (!hasRates(cls.input) && !hasRates(cls.output)) continue;
      const inb = inbound.get(cls.name);
      list.push({
        name: cls.name,
        mark: cls.mark,
        input: cls.input,
        output: cls.output,
        inboundMatches: inb?.lines ?? [],
        inboundComplete: inb !== undefined && inb.complete && inb.lines.length > 0,
      });
    }
    return { ...iface, classes: list };
  });
  for (const cls of classes.values()) {
    if (cls.mark !== undefined && !hasRates(cls.input) && !hasRates(cls.output)) {
      warnings.push(`tc/${cls.name}: the class has no rate (MinInputRate, MaxInputRate, MinOutputRate, MaxOutputRate), so FireQOS does not shape it`);
    }
    for (const dev of cls.bindTo ?? []) {
      if (!view.interfaces.some((i) => i.name === dev && i.role === 'red')) {
        throw new GatehouseError(`BindTo names '${dev}', which is not a red interface`, { place: { db: 'tc', key: cls.name, prop: 'BindTo' }, hint: `use red interfaces: ${view.interfaces.filter((i) => i.role === 'red').map((i) => i.name).join(', ') || 'none'}` });
      }
    }
  }
  const marks = [...classes.values()].filter((c) => c.mark !== undefined).map((c) => ({ name: c.name, mark: c.mark! }));
  const seen = new Map<number, string>();
  for (const c of marks) {
    const other = seen.get(c.mark);
    if (other !== undefined) throw new GatehouseError(`Mark ${c.mark} is also the Mark of class '${other}'`, { place: { db: 'tc', key: c.name, prop: 'Mark' }, hint: 'every class needs its own Mark 1..63' });
    seen.set(c.mark, c.name);
  }
  if (shaped.length === 0 && marks.length > 0 && mangle.ipv4.length + mangle.ipv6.length > 0) {
    warnings.push('no red interface has both FwInBandwidth and FwOutBandwidth: class rules mark traffic but nothing is shaped');
  }
  const connmarkOnly = [...new Set(interfaces.flatMap((i) => i.classes.filter((c) => !c.inboundComplete).map((c) => c.name)))].sort();
  const namedMangle = { ipv4: namedGroups('mangle', mangle.ipv4), ipv6: namedGroups('mangle6', mangle.ipv6) };
  return { interfaces, fireqos: interfaces.map(fireqosBlock), connmarkOnly, leafQdisc: leafText as LeafQdisc, mangle: namedMangle, classes: marks, warnings };
}

/**
 * FireQOS matches marks with u32's mark match, which kernels built without CLS_U32_MARK
 * accept and then ignore (the filter matches every packet). Gatehouse probes for it and
 * sets GATEHOUSE_U32_MARK only where it works; elsewhere it adds its own mark filters
 * (cls_bpf) after FireQOS has made the classes.
 */
function markMatch(mark: number): string {
  return `\t\tif [ -n "\${GATEHOUSE_U32_MARK-}" ]; then match connmark ${mark}; fi`;
}

/** The leaf qdisc is chosen at apply time (the setting, or what the target's kernel offers). */
const LEAF = 'qdisc ${GATEHOUSE_LEAF_QDISC}';

/**
 * Output (upload) and input (download, through an IFB) blocks of one interface. Upload is
 * classified by the packet mark the mangle rules set; download by the connection mark when
 * the target can restore it at ingress (act_connmark), else by the rules' ports and hosts.
 */
export function fireqosBlock(iface: ShapedInterface): FireqosBlock {
  const link = iface.linklayer === undefined ? '' : ` ${iface.linklayer}`;
  const lines: string[] = [];
  lines.push(`interface46 ${iface.device} ${iface.name}-out output rate ${iface.outputRate}kbit${link} balanced ${LEAF}`);
  for (const c of iface.classes) {
    lines.push(`\tclass ${c.name}${c.output.commit || c.output.ceil ? ` ${rateParams(c.output)}` : ''}`);
    lines.push(markMatch(c.mark));
  }
  lines.push(`interface46 ${iface.device} ${iface.name}-in input rate ${iface.inputRate}kbit${link} balanced ${LEAF}`);
  for (const c of iface.classes) {
    lines.push(`\tclass ${c.name}${c.input.commit || c.input.ceil ? ` ${rateParams(c.input)}` : ''}`);
    if (c.inboundMatches.length === 0) {
      lines.push(markMatch(c.mark));
      continue;
    }
    lines.push('\t\tif [ -n "$FIREQOS_CONNMARK_RESTORE" ]; then');
    lines.push(markMatch(c.mark));
    lines.push('\t\telse');
    for (const m of c.inboundMatches) lines.push(`\t\t${m}`);
    lines.push('\t\tfi');
  }
  return { comment: `${iface.name}: ${iface.device}, ${iface.outputRate} kbit/s out, ${iface.inputRate} kbit/s in`, lines };
}
