/**
 * Schemas of the REST API's records (issue 14), kept apart so the API's additions stay
 * one import in records.ts: the `api` key of `configuration`, the API users
 * (`apiusers`) and the live blocklist (`blocklist`, written by the API).
 */
import * as c from './checks.js';
import type { DatabaseSchema, RecordSchema } from './records.js';

const listenAddress: c.ValueCheck = (v) => (v === '::' || v === '0.0.0.0' || c.isIP(v) ? undefined : 'an address of this machine, :: or 0.0.0.0');
const absolutePath: c.ValueCheck = (v) => (v.startsWith('/') && !v.split('/').includes('..') ? undefined : 'an absolute path such as /etc/gatehouse/api/tls.crt');
const addressList = c.commaListOf(c.addressOrCidr, 'addresses or networks such as 198.51.100.10 or 203.0.113.0/24');
const epochSeconds: c.ValueCheck = (v) => (/^\d{1,12}$/.test(v) ? undefined : 'seconds since 1970 (a whole number)');
const interfaceOrAny: c.ValueCheck = (v) => (v === 'any' || /^[A-Za-z0-9_.:@-]{1,15}\+?$/.test(v) ? undefined : 'any, an interface name such as eth0, or a prefix such as ppp+');
const passwordHash: c.ValueCheck = (v) =>
  /^scrypt\$\d{4,7}\$\d{1,2}\$\d{1,2}\$[A-Za-z0-9+/=]{4,}\$[A-Za-z0-9+/=]{4,}$/.test(v) ? undefined : 'an scrypt hash as written by `gatehouse api --passwd USER` (never a clear password)';

/** configuration/api: where and how `gatehouse api` listens, and whom it lets in. */
export const API_CONFIGURATION: RecordSchema = {
  props: {
    status: c.enabledDisabled,
    access: c.commaListOf(c.roleName, 'roles or zone names the firewall opens TCPPort from, such as green,red'),
    TCPPort: c.integerBetween(1, 65535),
    ListenAddress: listenAddress,
    Tls: c.enabledDisabled,
    Certificate: absolutePath,
    CertificateKey: absolutePath,
    AllowedClients: addressList,
    Whitelist: addressList,
    AuthFailureLimit: c.integerBetween(1, 1000),
    AuthFailureWindow: c.integerBetween(1, 86_400),
    // Requests the API sends itself at start so its first burst runs optimised code (0: none).
    WarmUpRequests: c.integerBetween(0, 100_000),
  },
};

export const API_DATABASES: Record<string, DatabaseSchema> = {
  apiusers: {
    types: {
      user: { props: { PasswordHash: passwordHash, status: c.enabledDisabled }, required: ['PasswordHash'], key: (v) => (/^[A-Za-z0-9_.@-]{1,64}$/.test(v) ? undefined : 'a user name of letters, digits, _ . @ -') },
    },
  },
  blocklist: {
    types: {
      entry: {
        props: {
          Action: c.oneOf('drop', 'accept'),
          Chain: c.oneOf('input', 'output', 'forward'),
          Interface: interfaceOrAny,
          Address: c.cidr,
          // A forward pair (rfw's two-address form): the outgoing interface and the destination.
          ToInterface: interfaceOrAny,
          ToAddress: c.cidr,
          Created: epochSeconds,
          Expires: epochSeconds,
        },
        required: ['Action', 'Chain', 'Interface', 'Address'],
        key: (v) =>
          /^(drop|accept)\/(input|output|forward)\/[^/]+\/[0-9A-Fa-f.:]+\/\d{1,3}(\/[^/]+\/[0-9A-Fa-f.:]+\/\d{1,3})?$/.test(v)
            ? undefined
            : 'action/chain/interface/address/prefix[/interface2/address2/prefix2], such as drop/input/any/203.0.113.7/32',
      },
    },
  },
};
