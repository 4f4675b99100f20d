/**
 * `gatehouse api --make-cert`: a self-signed certificate and key for the API, made by
 * openssl (RSA 2048, as rfw), with the names and addresses clients will use as
 * subjectAltName. The key is created in an owner-only folder and left mode 0600.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import ipaddr from 'ipaddr.js';
import { GatehouseError } from '../errors/index.js';

export async function makeSelfSignedCertificate(certificate: string, key: string, names: string[], days = 825): Promise<void> {
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
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', String(days), '-keyout', key, '-out', certificate, '-subj', `/CN=${names[0] ?? 'gatehouse'}`, ...(san ? ['-addext', `subjectAltName=${san}`] : [])],
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
