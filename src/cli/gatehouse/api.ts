/**
 * `gatehouse api [--root DIR] [--apply MODE] [--listen ADDR] [--port N] [--force]`: serves
 * the REST API (src/api) until SIGTERM or SIGINT, with the blocklist loaded into the
 * kernel first. `--make-cert [--name NAME...] [--key-type ec|rsa]` makes a self-signed
 * TLS pair at the configured paths; `--passwd USER` stores USER's password (first line of stdin) as an
 * scrypt hash in the apiusers database.
 */
import { createInterface } from 'node:readline';
import type { CommandModule } from 'yargs';
import { GatehouseError } from '../../errors/index.js';
import { type RootAndModeArgs, rootAndMode, withRootAndMode } from './apply.js';

interface ApiArgs extends RootAndModeArgs {
  listen?: string;
  port?: number;
  force?: boolean;
  'make-cert'?: boolean;
  name?: string[];
  'key-type'?: string;
  passwd?: string;
}

async function firstLineOfStdin(): Promise<string> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line;
  }
  return '';
}

export const command: CommandModule<object, ApiArgs> = {
  command: 'api',
  describe: 'serve the REST block/allow API (rfw paths and /v1), or --make-cert, --passwd USER',
  builder: (y) =>
    withRootAndMode(y)
      .option('listen', { type: 'string', describe: 'address to listen on (default configuration api ListenAddress, else ::)' })
      .option('port', { type: 'number', describe: 'TCP port (default configuration api TCPPort, else 7393)' })
      .option('force', { type: 'boolean', default: false, describe: 'serve even when configuration api status is not enabled' })
      .option('make-cert', { type: 'boolean', default: false, describe: 'make a self-signed certificate and key at the configured paths, then exit' })
      .option('name', { type: 'string', array: true, describe: 'with --make-cert: host names or addresses clients use (default: localhost, 127.0.0.1, ::1)' })
      .option('key-type', { type: 'string', choices: ['ec', 'rsa'], default: 'ec', describe: 'with --make-cert: ec (ECDSA P-256, faster handshakes) or rsa (RSA 2048)' })
      .option('passwd', { type: 'string', describe: 'set the password of API user USER (read from the first line of stdin), then exit' }) as never,
  handler: async (args) => {
    const { root, mode } = rootAndMode(args);
    const api = await import('../../api/index.js');
    if (args['make-cert']) {
      const settings = await api.readApiSettings(root);
      await api.makeSelfSignedCertificate(settings.certificate, settings.key, args.name?.length ? args.name : ['localhost', '127.0.0.1', '::1'], undefined, args['key-type'] === 'rsa' ? 'rsa' : 'ec');
      process.stdout.write(`wrote ${settings.certificate} and ${settings.key} (mode 600); clients check it with: curl --cacert ${settings.certificate} ...\n`);
      return;
    }
    if (args.passwd !== undefined) {
      const password = await firstLineOfStdin();
      if (password.length < 8) throw new GatehouseError('the password is shorter than 8 characters', { hint: 'give it on the first line of stdin: echo "$PASSWORD" | gatehouse api --passwd USER' });
      const hash = await api.hashPassword(password);
      const { setRecord } = await import('../../db/index.js');
      await setRecord(root, api.USERS_DB, args.passwd, 'user', { PasswordHash: hash, status: 'enabled' });
      process.stdout.write(`password of API user ${args.passwd} stored (scrypt hash in ${api.USERS_DB})\n`);
      return;
    }
    if (args.port !== undefined && !(Number.isInteger(args.port) && args.port >= 1 && args.port <= 65535)) {
      throw new GatehouseError(`--port ${String(args.port)} is not a TCP port`, { hint: 'give 1 to 65535' });
    }
    // The signal handlers go in before anything starts: a SIGTERM that arrives while the
    // blocklist loads, or just after the 'listening' line, must still close cleanly (exit 0).
    let stopRequested!: () => void;
    const stopping = new Promise<void>((resolve) => (stopRequested = resolve));
    const onSignal = () => stopRequested();
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const running = await api.runApi({
        root,
        mode,
        ...(args.listen !== undefined ? { listen: args.listen } : {}),
        ...(args.port !== undefined ? { port: args.port } : {}),
        force: Boolean(args.force),
      });
      const count = running.blocklist.stats().entries;
      const warm = running.warmedUp;
      if (warm && 'error' in warm) process.stderr.write(`gatehouse api: the warm-up failed (${warm.error}); serving anyway, the first requests more slowly\n`);
      else if (warm) process.stderr.write(`gatehouse api: warmed up with ${warm.requests} requests of its own over loopback in ${Math.round(warm.ms)} ms (configuration api WarmUpRequests)\n`);
      process.stderr.write(`gatehouse api: listening on ${running.url} (${count} blocklist entries in force, kernel ${mode.kind === 'netns' ? `netns:${mode.name}` : mode.kind})\n`);
      await stopping;
      await running.close();
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  },
};
