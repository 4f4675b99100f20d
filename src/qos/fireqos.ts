/**
 * Running the real FireQOS against a target (the host, or a network namespace through the
 * runner's `ip netns exec`). FireQOS keeps its state and its lock in /run/fireqos, shared
 * by every namespace of the machine; each target therefore gets its own state directory
 * (/run/gatehouse/fireqos/<target>), made by pointing FireQOS at a copy of its install
 * settings with LOCALSTATEDIR moved there. Before each start the target's kernel is probed
 * for what the configuration needs (the leaf qdisc, act_connmark for download classes) and
 * FireQOS is told what to fall back to; every fallback is a warning, never silent.
 */
import { GatehouseError } from '../errors/index.js';
import { FALLBACK_LEAF_QDISC, LEAF_QDISCS } from './model.js';

/** The part of a kernel runner this module needs (src/apply's and src/plan's runners both fit). */
export interface QosRunner {
  readonly mode: { kind: 'dry-run' } | { kind: 'netns'; name: string } | { kind: 'host' };
  run(command: { step: string; command: string; args: string[]; input?: string; inputName?: string }): Promise<string>;
}

/** What Gatehouse's fireqos.conf declares about itself in `#@gatehouse` lines. */
export interface FireqosDirectives {
  leafQdisc: string;
  /** Classes whose download side only the connection mark recognises. */
  connmarkOnly: string[];
  /** Warnings the model left for the administrator (record and reason). */
  warnings: string[];
  /** Kernel devices of the interface blocks. */
  devices: string[];
  /** Class name -> Mark. */
  classMarks: Record<string, number>;
}

const INTERFACE_LINE = /^\s*interface(?:4|6|46)?\s+(\S+)\s+(\S+)\s/;

export function readDirectives(conf: string): FireqosDirectives {
  const out: FireqosDirectives = { leafQdisc: 'fq_codel', connmarkOnly: [], warnings: [], devices: [], classMarks: {} };
  for (const line of conf.split('\n')) {
    const m = /^#@gatehouse\s+(\S+)\s*(.*)$/.exec(line);
    if (m) {
      if (m[1] === 'leaf-qdisc') out.leafQdisc = m[2]!.trim();
      else if (m[1] === 'connmark-only') out.connmarkOnly = m[2]!.trim().split(/\s+/).filter((s) => s !== '');
      else if (m[1] === 'warning') out.warnings.push(m[2]!.trim());
      else if (m[1] === 'class-mark') {
        const [name, mark] = m[2]!.trim().split(/\s+/);
        if (name !== undefined && /^\d+$/.test(mark ?? '')) out.classMarks[name] = Number(mark);
      }
      continue;
    }
    const i = INTERFACE_LINE.exec(line);
    if (i && !out.devices.includes(i[1]!)) out.devices.push(i[1]!);
  }
  return out;
}

/** Whether the configuration shapes anything (an empty one means: no qdisc at all). */
export function shapesAnything(conf: string): boolean {
  return conf.split('\n').some((l) => INTERFACE_LINE.test(l));
}

/** The target's own FireQOS state directory. */
export function stateDirFor(mode: QosRunner['mode']): string {
  return `/run/gatehouse/fireqos/${mode.kind === 'netns' ? `netns-${mode.name}` : mode.kind}`;
}

/**
 * Shell run in the target: FireQOS's program files linked into the state directory with an
 * install.config whose LOCALSTATEDIR is that directory (owner-only), then FireQOS itself.
 * On failure only FireQOS's error lines reach stderr, so the event shows FireQOS's message.
 */
const FIREQOS_SCRIPT = `
set -u
state="$1"; shift
prog=$(readlink -f "$(command -v fireqos)") || { echo "fireqos is not installed" >&2; exit 127; }
lib=$(dirname "$prog")
umask 077
mkdir -p "$state/lib" "$state/run" || exit 1
for f in functions.common services.common services.fireqos; do ln -sfn "$lib/$f" "$state/lib/$f" || exit 1; done
cat "$lib/install.config" > "$state/lib/install.config.new" && printf 'LOCALSTATEDIR="%s"\\n' "$state" >> "$state/lib/install.config.new" && mv "$state/lib/install.config.new" "$state/lib/install.config" || exit 1
if [ "$1" = start ]; then cat > "$state/fireqos.conf.new" && mv "$state/fireqos.conf.new" "$state/fireqos.conf" || exit 1; set -- "$state/fireqos.conf" start; fi
out=$(env FIREHOL_OVERRIDE_PROGRAM_DIR="$state/lib" "$prog" "$@" 2>&1 </dev/null); rc=$?
if [ $rc -ne 0 ]; then
  # iproute2 says this of veth peers in namespaces being deleted meanwhile (harmless, and not FireQOS's error).
  printf '%s\\n' "$out" | sed 's/Error: Peer netns reference is invalid\\.//' | grep -E -A3 'ERROR|Illegal|Error|rror:|FAILED|already running|not found|Cannot' | grep -v -E '^(--)?$' >&2
  exit $rc
fi
printf '%s\\n' "$out"
`;

function fireqosCommand(mode: QosRunner['mode'], env: Record<string, string>, args: string[]) {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return { command: 'env', args: [...vars, 'sh', '-c', FIREQOS_SCRIPT, 'gatehouse-fireqos', stateDirFor(mode), ...args] };
}

/** What the target's kernel offers for shaping, found by trying it on a throwaway IFB device. */
export interface KernelFeatures {
  qdiscs: Record<string, boolean>;
  /** The connmark tc action (act_connmark): download classification by connection mark. */
  connmarkAction: boolean;
  ifb: boolean;
  /** u32's mark match works (CLS_U32_MARK); without it the kernel takes the filter and ignores the mark. */
  u32Mark: boolean;
  /** cls_bpf, which Gatehouse's own mark filters use when u32 cannot match marks. */
  clsBpf: boolean;
}

// The scratch IFB is named after the probing shell: removed on exit and on a signal, and one
// left by a probe killed outright (SIGKILL) is removed by the next probe once its shell is gone.
const PROBE_SCRIPT = `
for old in $(ip -o link show type ifb 2>/dev/null | sed -n 's/^[0-9]*: \\(ghqos[0-9]*\\)[:@].*/\\1/p'); do
  kill -0 "\${old#ghqos}" 2>/dev/null || ip link del "$old" 2>/dev/null
done
dev="ghqos$$"
if ! ip link add "$dev" type ifb 2>/dev/null; then echo "ifb no"; exit 0; fi
trap 'ip link del "$dev" 2>/dev/null' EXIT
trap 'exit 1' INT TERM HUP
echo "ifb yes"
ip link set "$dev" up 2>/dev/null
for q in ${[...LEAF_QDISCS, 'htb'].join(' ')}; do
  if tc qdisc replace dev "$dev" root "$q" >/dev/null 2>&1; then echo "qdisc $q yes"; else echo "qdisc $q no"; fi
done
tc qdisc del dev "$dev" root >/dev/null 2>&1
tc qdisc add dev "$dev" ingress >/dev/null 2>&1
if tc filter add dev "$dev" parent ffff: protocol all u32 match u32 0 0 action connmark >/dev/null 2>&1; then echo "connmark yes"; else echo "connmark no"; fi
tc filter add dev "$dev" parent ffff: protocol ip prio 7 u32 match mark 0x1 0x3f flowid 1:1 >/dev/null 2>&1
if tc filter show dev "$dev" parent ffff: 2>/dev/null | grep -q 'mark 0x0*1 0x0*3f'; then echo "u32mark yes"; else echo "u32mark no"; fi
if tc filter add dev "$dev" parent ffff: protocol all prio 8 bpf bytecode '1,6 0 0 0' flowid 1:1 >/dev/null 2>&1; then echo "bpf yes"; else echo "bpf no"; fi
ip link del "$dev" 2>/dev/null
exit 0
`;

export function parseProbe(text: string): KernelFeatures {
  const out: KernelFeatures = { qdiscs: {}, connmarkAction: false, ifb: false, u32Mark: false, clsBpf: false };
  for (const line of text.split('\n')) {
    const [what, a, b] = line.trim().split(/\s+/);
    if (what === 'ifb') out.ifb = a === 'yes';
    else if (what === 'connmark') out.connmarkAction = a === 'yes';
    else if (what === 'u32mark') out.u32Mark = a === 'yes';
    else if (what === 'bpf') out.clsBpf = a === 'yes';
    else if (what === 'qdisc' && a !== undefined) out.qdiscs[a] = b === 'yes';
  }
  return out;
}

export async function probeKernel(runner: QosRunner): Promise<KernelFeatures> {
  if (runner.mode.kind === 'dry-run') return { qdiscs: Object.fromEntries([...LEAF_QDISCS, 'htb'].map((q) => [q, true])), connmarkAction: true, ifb: true, u32Mark: true, clsBpf: true };
  const text = await runner.run({ step: 'tc (probe the kernel for traffic shaping)', command: 'sh', args: ['-c', PROBE_SCRIPT] });
  return parseProbe(text);
}

/** The environment FireQOS runs with, and the warnings for whatever the kernel lacks. */
export function choose(directives: FireqosDirectives, features: KernelFeatures): { env: Record<string, string>; warnings: string[] } {
  const warnings: string[] = [];
  const env: Record<string, string> = {};
  if (!features.ifb) throw new GatehouseError('the target kernel cannot create IFB devices, which FireQOS needs to shape download traffic', { hint: 'load the ifb module (modprobe ifb) or clear FwInBandwidth/FwOutBandwidth' });
  if (features.qdiscs['htb'] === false) throw new GatehouseError('the target kernel has no HTB qdisc (sch_htb), which FireQOS shapes with', { hint: 'load sch_htb or clear FwInBandwidth/FwOutBandwidth' });
  let leaf = directives.leafQdisc;
  if (features.qdiscs[leaf] !== true) {
    const fallback = features.qdiscs[FALLBACK_LEAF_QDISC] ? FALLBACK_LEAF_QDISC : 'bfifo';
    warnings.push(`the target kernel has no ${leaf} qdisc: every class uses ${fallback} instead (set configuration firewall TcLeafQdisc, or load sch_${leaf})`);
    leaf = fallback;
  }
  env['GATEHOUSE_LEAF_QDISC'] = leaf;
  if (features.u32Mark) env['GATEHOUSE_U32_MARK'] = '1';
  else if (!features.clsBpf && Object.keys(directives.classMarks).length > 0) {
    warnings.push('the target kernel can match marks neither with u32 (CLS_U32_MARK) nor with cls_bpf: classes are recognised by ports and hosts on the way in only, and upload traffic is shaped in the default class');
  }
  if (features.connmarkAction) env['GATEHOUSE_CONNMARK_RESTORE'] = 'act_connmark';
  else if (directives.connmarkOnly.length > 0) {
    warnings.push(
      `the target kernel has no act_connmark: download traffic of class${directives.connmarkOnly.length > 1 ? 'es' : ''} ${directives.connmarkOnly.join(', ')} cannot be recognised and is shaped in the default class (give the class rules ports or remote hosts, or load act_connmark)`,
    );
  }
  return { env, warnings: [...directives.warnings, ...warnings] };
}

/**
 * What the target's kernel lacks for this configuration, as the warnings a start would give
 * (compile keeps them in the plan summary, so `gatehouse status` shows them); none when
 * nothing is shaped. Throws when shaping is impossible there (no IFB, no HTB).
 */
export async function kernelFallbackWarnings(runner: QosRunner, conf: string): Promise<string[]> {
  if (!shapesAnything(conf)) return [];
  return choose({ ...readDirectives(conf), warnings: [] }, await probeKernel(runner)).warnings;
}

/** One HTB class as FireQOS reported creating it. */
export interface AppliedClass {
  /** FireQOS interface name (`red1-out`). */
  interface: string;
  /** Kernel device holding the class (the interface, or its IFB for input). */
  device: string;
  class: string;
  classid: string;
  /** bit/s */
  rate: number;
  ceil: number;
}

export interface FireqosResult {
  classes: AppliedClass[];
  warnings: string[];
  /** The leaf qdisc and connmark setting FireQOS ran with. */
  env: Record<string, string>;
}

/** Lines like `: interface red0 isp1-out output ... (red0, 10000kbit, ...)` and `: \tclass low ceil 20% (1:13, 100/2000kbit, prio 4)`. */
export function parseFireqosReport(text: string): AppliedClass[] {
  const out: AppliedClass[] = [];
  let current: { name: string; device: string } | undefined;
  for (const line of text.split('\n')) {
    const i = /^:\s*interface(?:4|6|46)?\s+\S+\s+(\S+)\s.*\((\S+?),/.exec(line);
    if (i) {
      current = { name: i[1]!, device: i[2]! };
      continue;
    }
    const c = /^:\s+class\s+(\S+).*\((\d+:[0-9a-f]+),\s*(\d+)\/(\d+)kbit/.exec(line);
    if (c && current) out.push({ interface: current.name, device: current.device, class: c[1]!, classid: c[2]!, rate: Number(c[3]) * 1000, ceil: Number(c[4]) * 1000 });
  }
  return out;
}

/** Turns offloads off on shaped devices (GSO/TSO/GRO super-packets defeat shaping); where ethtool cannot, says so. */
async function offloadsOff(runner: QosRunner, devices: string[]): Promise<string[]> {
  const warnings: string[] = [];
  for (const dev of devices) {
    await runner
      .run({ step: `ethtool -K ${dev} (offloads off)`, command: 'ethtool', args: ['-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'] })
      .catch((e: unknown) => warnings.push(`offloads stay on for ${dev}: ${e instanceof Error ? e.message : String(e)}`));
  }
  return warnings;
}

/** Applies a configuration: probe, fall back, FireQOS start. A failure carries FireQOS's own message. */
export async function startFireqos(runner: QosRunner, conf: string): Promise<FireqosResult> {
  if (!shapesAnything(conf)) {
    await stopFireqos(runner);
    return { classes: [], warnings: readDirectives(conf).warnings, env: {} };
  }
  const directives = readDirectives(conf);
  const features = await probeKernel(runner);
  const { env, warnings } = choose(directives, features);
  if (runner.mode.kind !== 'dry-run') warnings.push(...(await offloadsOff(runner, directives.devices)));
  const command = fireqosCommand(runner.mode, env, ['start']);
  const report = await runner.run({ step: 'fireqos start (fireqos.conf)', ...command, input: conf, inputName: 'fireqos.conf' });
  const classes = parseFireqosReport(report);
  if (!features.u32Mark && features.clsBpf) await addMarkFilters(runner, classes, directives, features);
  return { classes, warnings, env };
}

/**
 * Classic BPF for cls_bpf: load the packet mark, keep the class bits (0x3f), compare with
 * the class's Mark; -1 selects the filter's flowid, 0 means no match.
 */
export function markProgram(mark: number): string {
  const SKF_AD_MARK = 4294967296 - 4096 + 20; // SKF_AD_OFF + SKF_AD_MARK (linux/filter.h)
  return `5,32 0 0 ${SKF_AD_MARK},84 0 0 63,21 0 1 ${mark},6 0 0 4294967295,6 0 0 0`;
}

/**
 * Mark filters FireQOS could not make here: one cls_bpf filter per class and device, ahead
 * of FireQOS's own (priority 1..). Upload (the red device) always; download (the IFB) only
 * when act_connmark put the connection mark on the packet before the redirect.
 */
async function addMarkFilters(runner: QosRunner, classes: AppliedClass[], directives: FireqosDirectives, features: KernelFeatures): Promise<void> {
  const prio = new Map<string, number>();
  for (const c of classes) {
    const mark = directives.classMarks[c.class];
    if (mark === undefined) continue;
    if (c.interface.endsWith('-in') && !features.connmarkAction) continue;
    const n = (prio.get(c.device) ?? 0) + 1;
    prio.set(c.device, n);
    const parent = `${c.classid.split(':')[0]}:`;
    await runner.run({
      step: `tc filter (mark ${mark} -> ${c.interface} class ${c.class})`,
      command: 'tc',
      args: ['filter', 'add', 'dev', c.device, 'parent', parent, 'protocol', 'all', 'prio', String(n), 'bpf', 'bytecode', markProgram(mark), 'flowid', c.classid],
    });
  }
}

/** Removes every qdisc and IFB this target's FireQOS set up. */
export async function stopFireqos(runner: QosRunner): Promise<void> {
  await runner.run({ step: 'fireqos stop', ...fireqosCommand(runner.mode, {}, ['stop']) });
}

/** One class as the kernel shows it (`tc -s class show`). */
export interface LiveClass {
  classid: string;
  rate: number;
  ceil: number;
  bytes: number;
  packets: number;
  dropped: number;
}

/** `1Mbit`, `100Kbit`, `2500bit` -> bit/s. */
export function parseTcRate(text: string): number {
  const m = /^([\d.]+)([KMG]?)bit$/.exec(text);
  if (!m) return NaN;
  const scale = m[2] === 'K' ? 1e3 : m[2] === 'M' ? 1e6 : m[2] === 'G' ? 1e9 : 1;
  return Math.round(Number(m[1]) * scale);
}

export function parseTcClasses(text: string): LiveClass[] {
  const out: LiveClass[] = [];
  for (const block of text.split(/\n(?=class )/)) {
    const head = /^class htb (\S+) .*?\brate (\S+) ceil (\S+)/m.exec(block);
    if (!head) continue;
    const sent = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(block);
    out.push({ classid: head[1]!, rate: parseTcRate(head[2]!), ceil: parseTcRate(head[3]!), bytes: Number(sent?.[1] ?? 0), packets: Number(sent?.[2] ?? 0), dropped: Number(sent?.[3] ?? 0) });
  }
  return out;
}

/** The live HTB classes of each device. */
export async function readLiveClasses(runner: QosRunner, devices: string[]): Promise<Record<string, LiveClass[]>> {
  const out: Record<string, LiveClass[]> = {};
  for (const dev of devices) {
    const text = await runner.run({ step: `tc -s class show dev ${dev}`, command: 'tc', args: ['-s', 'class', 'show', 'dev', dev] }).catch(() => '');
    out[dev] = parseTcClasses(text);
  }
  return out;
}

/** Differences between what FireQOS reported creating and what the kernel holds, one line each. */
export function compareClasses(expected: AppliedClass[], live: Record<string, LiveClass[]>): string[] {
  const out: string[] = [];
  for (const c of expected) {
    const k = live[c.device]?.find((l) => l.classid === c.classid);
    const want = `${c.interface} class ${c.class} (${c.device} ${c.classid}) rate ${c.rate / 1000}kbit ceil ${c.ceil / 1000}kbit`;
    if (!k) out.push(`- ${want}`, `+ ${c.device} has no class ${c.classid}`);
    else if (Math.abs(k.rate - c.rate) > 1000 || Math.abs(k.ceil - c.ceil) > 1000) out.push(`- ${want}`, `+ ${c.device} ${c.classid} rate ${k.rate / 1000}kbit ceil ${k.ceil / 1000}kbit`);
  }
  return out;
}
