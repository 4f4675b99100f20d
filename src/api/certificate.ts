/**
 * `gatehouse api --make-cert`: a self-signed certificate and key for the API, made by
 * openssl, with the names and addresses clients will use as subjectAltName. The key is
 * ECDSA P-256 by default: a server signs a handshake with it more than ten times faster
 * than with RSA 2048 (rfw's), which counts when a fleet's clients each open a connection
 * (curl does, per request); every TLS 1.2+ client accepts it. `rsa` makes RSA 2048 for
 * clients that need it. The key is created in an owner-only folder and left mode 0600.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import ipaddr from 'ipaddr.js';
import { GatehouseError } from '../errors/index.js';

export type CertificateKeyType = 'ec' | 'rsa';

export const CERTIFICATE_KEY_TYPES: readonly CertificateKeyType[] = ['ec', 'rsa'];

const NEW_KEY: Record<CertificateKeyType, string[]> = {
  ec: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
  rsa: ['-newkey', 'rsa:2048'],
};

export async function makeSelfSignedCertificate(certificate: string, key: string, names: string[], days = 825, keyType: CertificateKeyType = 'ec'): Promise<void> {
  for (const name of names) {
    if (!ipaddr.isValid(name) && !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/.test(name)) {
      throw new GatehouseError(`'${name}' is neither an address nor a host name`, { hint: 'give --name 203.0.113.2 or --name gw.example.org' });
    }
  }
  const san = names.map((n) => (ipaddr.isValid(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  for (const dir of new Set([dirname(certificate), dirname(key)])) await mkdir(dir, { recursive: true, mode: 0o700 });
  const { execa } = await import('execa');
  const result = await execa(
    'openssl',
    ['req', '-x509', ...NEW_KEY[keyType], '-nodes', '-sha256', '-days', String(days), '-keyout', key, '-out', certificate, '-subj', `/CN=${names[0] ?? 'gatehouse'}`, ...(san ? ['-addext', `subjectAltName=${san}`] : [])],
    { reject: false, stdin: 'ignore' },
  );
  if (result.failed) {
    throw new GatehouseError(`openssl could not make the certificate: ${String(result.stderr).trim().split('\n').pop() ?? result.shortMessage}`, {
      hint: 'install openssl (apt-get install openssl)',
    });
  }
  await chmod(key, 0o600);
  await chmod(certificate, 0o644);
}
