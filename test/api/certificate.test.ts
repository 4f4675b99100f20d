/**
 * `gatehouse api --make-cert`'s pair: ECDSA P-256 by default, RSA 2048 on request; each
 * accepted by Node's TLS client and by curl (--cacert) for the name it was made for,
 * the key left mode 0600.
 */
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CERTIFICATE_KEY_TYPES, makeSelfSignedCertificate } from '../../src/api/index.js';

const hasCurl = spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;

describe('makeSelfSignedCertificate', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-cert-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const keyType of [undefined, ...CERTIFICATE_KEY_TYPES]) {
    it(`${keyType ?? 'the default'}: the key type asked for, accepted by Node and curl`, async () => {
      const certFile = join(dir, 'tls.crt');
      const keyFile = join(dir, 'private/tls.key');
      await makeSelfSignedCertificate(certFile, keyFile, ['127.0.0.1', 'gw.example.org'], 30, keyType);
      const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const x509 = new X509Certificate(cert);
      expect(x509.subjectAltName).toBe('IP Address:127.0.0.1, DNS:gw.example.org');
      if ((keyType ?? 'ec') === 'ec') {
        expect(createPrivateKey(key).asymmetricKeyType).toBe('ec');
        expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
      } else {
        expect(createPrivateKey(key).asymmetricKeyType).toBe('rsa');
        expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      }

      const server = createServer({ cert, key }, (_, res) => res.end('ok'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      try {
        const body = await new Promise<string>((resolve, reject) => {
          request({ host: '127.0.0.1', port, ca: cert }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve(text));
          })
            .on('error', reject)
            .end();
        });
        expect(body).toBe('ok');
        if (!hasCurl) {
          console.log('curl is not installed: the certificate was checked with Node only');
          return;
        }
        // Asynchronously: the server answers in this process.
        const curl = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn('curl', ['-sS', '--cacert', certFile, `https://127.0.0.1:${port}/`]);
          let out = '';
          let err = '';
          child.stdout.on('data', (c: Buffer) => (out += c.toString()));
          child.stderr.on('data', (c: Buffer) => (err += c.toString()));
          child.once('exit', (code) => resolve({ code, out, err }));
        });
        expect(curl.code, curl.err).toBe(0);
        expect(curl.out).toBe('ok');
      } finally {
        server.close();
      }
    });
  }
});
