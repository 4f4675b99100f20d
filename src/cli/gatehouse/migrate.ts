/**
 * `gatehouse migrate DIR [--custom DIR] --root ROOT`: a NethServer 7 box in one step. Every
 * database file of DIR (its /var/lib/nethserver/db) is imported with `--replace` meaning
 * (each record's fate reported), the custom fragments of --custom (its
 * /etc/e-smith/templates-custom) are copied to ROOT/etc/e-smith/templates-custom, and a
 * dry-run firewall-adjust shows what the migrated box would run, with its warnings. One
 * report: what was migrated, what needs the administrator, what Gatehouse does differently.
 */
import { copyFileSync, chmodSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { CommandModule } from 'yargs';
import { type ImportReport, assertDatabaseName, formatImportReport, importDatabase, listShippedDatabases, mergeDefaults, readDatabase, setProps } from '../../db/index.js';
import { GatehouseError, describeError } from '../../errors/index.js';
import { resolveRoot, shippedPaths } from '../../layout/index.js';

interface MigrateArgs {
  dir: string;
  custom?: string;
  root?: string;
}

/** Databases Gatehouse reads besides its shipped ones. */
const ALSO_READ = ['macs', 'separators'];

/** Where Gatehouse deliberately means something else than NethServer 7 (README, "Where Gatehouse differs"). */
export const DIFFERENCES: readonly string[] = [
  'a reference to a missing host, group, service, time, zone, role or provider is never silent: an ACCEPT rule, port forward or NAT entry naming it is skipped with a warning naming the record, a DROP or REJECT rule naming it fails the event (NethServer emits nothing for it, silently)',
  'a host group whose members sit in different zones is split per zone (NethServer puts it all in the zone of its first member)',
  'time objects are converted to UTC with their weekdays shifted when the window crosses midnight (NethServer keeps the weekdays, matching the wrong day)',
  'tc marks use the whole 1..63 range of the 0x3f class mask (NethServer writes Mark 40 and above outside the mask)',
  "IPv6: the same zones, objects and rules also build an IPv6 firewall (etc/shorewall6); NethServer 7 had none, so services open to red (sshd's access green,red) are also open over IPv6 on red",
  'generated files are sorted and deterministic (NethServer follows Perl hash order)',
  'while stopped, administration (sshd, httpd-admin) and ping are admitted only from where the running rules admit them, on the ports those services use (NethServer keeps 22, 980, the sshd port and ping open from every interface, red included)',
  'a PPPoE interface (ppp0, type xdsl) is declared as an optional red interface; other ppp devices meet the all-zone policies (NethServer declares every ppp+ device optional, in no zone)',
  'an iprange in FwObjectNat is honoured in the 1:1 source NAT (NethServer skips it silently)',
  'a hairpin port forward without Dst translates only the forwarded port (NethServer SNATs every TCP port of that host)',
  'a port forward whose Src is a range and that has a Dst sends every port of the range to Dst (NethServer ignored Dst for a range and opened the range\'s own ports on the internal host)',
  'MAC validation runs in the filter table (MACLIST_TABLE=filter), so MACValidationPolicy may also be reject (NethServer: mangle, drop or accept)',
  'the firewall itself may open connections into custom roles ($FW <zone> ACCEPT), as into green, blue and orange (NethServer leaves them to the final all all REJECT)',
  "a zone record without Interface or Network is refused at import, and one whose Interface is no longer configured fails the event (NethServer skipped both silently, which gives the zone's hosts their interface zone's access)",
];

/** Rules NethServer 7 skipped because they had no status: written as status=disabled so they stay off. */
async function keepStatuslessRulesOff(root: string): Promise<string[]> {
  const fwrules = await readDatabase(root, 'fwrules');
  const keys = Object.keys(fwrules).filter((k) => fwrules[k]!.type === 'rule' && (fwrules[k]!.props['status'] ?? '') === '');
  for (const key of keys) await setProps(root, 'fwrules', key, { status: 'disabled' });
  return keys.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1));
}

/**
 * Local services (configuration records of type service) NethServer 7 did not open because
 * they had no status (its 70services fragment needs status=enabled); Gatehouse opens one
 * without status, so they are written as status=disabled. Run after the shipped defaults,
 * which give the services Gatehouse ships their status as NethServer's defaults did.
 */
async function keepStatuslessServicesOff(root: string): Promise<string[]> {
  const configuration = await readDatabase(root, 'configuration');
  const keys = Object.keys(configuration).filter((k) => configuration[k]!.type === 'service' && (configuration[k]!.props['status'] ?? '') === '');
  for (const key of keys) await setProps(root, 'configuration', key, { status: 'disabled' });
  return keys.sort();
}

interface FragmentFate {
  file: string;
  fate: 'copied' | 'perl' | 'unused';
}

/** Copy the e-smith custom fragments whose targets Gatehouse generates; Perl and unused ones are reported, not copied. */
async function copyCustomFragments(from: string, root: string): Promise<FragmentFate[]> {
  const { findPerl } = await import('../../templates/perl.js');
  const shipped = shippedPaths().templates;
  const to = join(root, 'etc/e-smith/templates-custom');
  const out: FragmentFate[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      if (!entry.isFile()) continue;
      const rel = relative(from, full);
      // A fragment's target is its folder (etc/shorewall/rules/90mymac); a flat template is the file itself.
      const target = statSync(join(shipped, rel), { throwIfNoEntry: false })?.isDirectory() ? rel : relative(from, dir);
      if (!statSync(join(shipped, target), { throwIfNoEntry: false })?.isDirectory()) {
        out.push({ file: rel, fate: 'unused' });
        continue;
      }
      if (findPerl(readFileSync(full, 'utf8'))) {
        out.push({ file: rel, fate: 'perl' });
        continue;
      }
      mkdirSync(join(to, rel, '..'), { recursive: true, mode: 0o755 });
      copyFileSync(full, join(to, rel));
      chmodSync(join(to, rel), 0o644); // root loads it: writable by its owner only
      out.push({ file: rel, fate: 'copied' });
    }
  };
  walk(from);
  return out;
}

export interface MigrationReport {
  imports: ImportReport[];
  skippedDatabases: string[];
  /** Records and props added from Gatehouse's shipped defaults, per database. */
  defaults: string[];
  disabledRules: string[];
  /** Local services without status, written as status=disabled (NethServer 7 left them closed). */
  disabledServices?: string[];
  fragments: FragmentFate[];
  adjust: { ok: boolean; warnings: string[]; error?: string };
}

export async function migrate(dir: string, root: string, custom?: string): Promise<MigrationReport> {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new GatehouseError(`${dir} is not a directory`, { hint: "give the old box's /var/lib/nethserver/db (copied here)" });
  }
  const read = new Set([...(await listShippedDatabases()), ...ALSO_READ]);
  const imports: ImportReport[] = [];
  const skippedDatabases: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const file = join(dir, name);
    if (name.startsWith('.') || name.endsWith('.lock') || !statSync(file).isFile()) continue;
    try {
      assertDatabaseName(name);
    } catch {
      skippedDatabases.push(`${name} (not a database name)`);
      continue;
    }
    if (!read.has(name)) {
      skippedDatabases.push(name);
      continue;
    }
    imports.push(await importDatabase(root, name, readFileSync(file, 'utf8'), file, { replace: true }));
  }
  // As NethServer's initialize-default-databases does on every update: missing records and props only.
  const defaults = (await mergeDefaults(root)).filter((d) => d.added.length > 0).map((d) => `${d.db}: ${d.added.join(' ')}`);
  const disabledRules = await keepStatuslessRulesOff(root);
  const disabledServices = await keepStatuslessServicesOff(root);
  const fragments = custom === undefined ? [] : await copyCustomFragments(custom, root);
  const { signalEvent } = await import('../../events/index.js');
  let adjust: MigrationReport['adjust'];
  const seen: string[] = [];
  try {
    const report = await signalEvent({ root, event: 'firewall-adjust', applyMode: { kind: 'dry-run' }, echo: (l) => seen.push(l) });
    adjust = { ok: true, warnings: (report as { warnings?: string[] }).warnings ?? [] };
  } catch (e) {
    adjust = { ok: false, warnings: [], error: describeError(e) };
  }
  return { imports, skippedDatabases, defaults, disabledRules, disabledServices, fragments, adjust };
}

export function formatMigrationReport(r: MigrationReport, root: string): string {
  const count = (k: string): number => r.imports.reduce((n, i) => n + i.fates.filter((f) => f.fate === k).length, 0);
  let out = `== Migrated into ${root}: ${r.imports.length} database(s), ${count('imported')} imported, ${count('migrated')} migrated, ${count('kept')} kept with a warning, ${count('refused')} refused, ${count('deleted')} deleted\n`;
  for (const i of r.imports) out += formatImportReport(i);
  for (const d of r.defaults) out += `shipped defaults added: ${d}\n`;
  for (const f of r.fragments.filter((f) => f.fate === 'copied')) out += `fragment ${f.file}: copied to etc/e-smith/templates-custom\n`;
  out += '== Needs the administrator\n';
  const needs: string[] = [];
  for (const i of r.imports) for (const f of i.fates) if (f.fate === 'refused' || f.fate === 'kept') needs.push(`${i.db}/${f.key}: ${f.fate === 'refused' ? 'refused' : 'kept with a warning'}: ${f.detail.join('; ')}`);
  for (const f of r.fragments) {
    if (f.fate === 'perl') needs.push(`fragment ${f.file}: Perl (Text::Template), not copied: rewrite it as plain lines with Handlebars (README, "Template fragments")`);
    if (f.fate === 'unused') needs.push(`fragment ${f.file}: not copied: Gatehouse does not generate that file`);
  }
  for (const d of r.skippedDatabases) needs.push(`database ${d}: not migrated: Gatehouse does not read it`);
  if (!r.adjust.ok) needs.push(`firewall-adjust fails: ${r.adjust.error}`);
  for (const w of r.adjust.warnings) needs.push(`firewall-adjust warning: ${w}`);
  out += needs.length > 0 ? needs.map((n) => `${n}\n`).join('') : 'nothing\n';
  out += '== Gatehouse does differently\n';
  if (r.disabledRules.length > 0) {
    out += `fwrules ${r.disabledRules.join(', ')}: no status; NethServer 7 skipped such rules, so they were written as status=disabled (Gatehouse would enable a rule without status)\n`;
  }
  if ((r.disabledServices ?? []).length > 0) {
    out += `configuration ${r.disabledServices!.join(', ')}: service without status; NethServer 7 did not open its ports, so it was written as status=disabled (Gatehouse would open a service without status)\n`;
  }
  out += DIFFERENCES.map((d) => `${d}\n`).join('');
  out += `== Dry-run firewall-adjust: ${r.adjust.ok ? `ok, ${r.adjust.warnings.length} warning(s)` : 'FAILED (see above)'}\n`;
  return out;
}

export const command: CommandModule<object, MigrateArgs> = {
  command: 'migrate <dir>',
  describe: 'migrate a NethServer 7 /var/lib/nethserver/db directory (and templates-custom) into a root, with one report',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: "the old box's /var/lib/nethserver/db, copied here" })
      .option('custom', { type: 'string', describe: "the old box's /etc/e-smith/templates-custom" })
      .option('root', { type: 'string', describe: 'runtime root (default: GATEHOUSE_ROOT or /)' }) as never,
  handler: async (args) => {
    const root = resolveRoot(args.root);
    const report = await migrate(args.dir, root, args.custom);
    process.stdout.write(formatMigrationReport(report, root));
    if (!report.adjust.ok) process.exitCode = 1;
  },
};
