import { describe, expect, it } from 'vitest';
import { clientKey } from '../../src/ingress/clients.ts';

/** The key a caller is counted under by the per-client caps: IPv4 as is, IPv6 by network prefix. */
describe('clientKey', () => {
  const cases: [string, number, string][] = [
    ['192.0.2.7', 64, '192.0.2.7'],
    ['::ffff:192.0.2.7', 64, '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', 64, '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', 64, '2001:db8:1:3::/64'],
    ['2001:db8:1:2ff::1', 56, '2001:db8:1:200::/56'],
    ['2001:db8:1:2ff::1', 48, '2001:db8:1::/48'],
    ['2001:db8::7', 128, '2001:db8::7/128'],
    ['fe80::1%eth0', 64, 'fe80::/64'],
    ['::1', 64, '::/64'],
    ['64:ff9b::192.0.2.1', 96, '64:ff9b::/96'],
    ['64:ff9b::192.0.2.1', 128, '64:ff9b::c000:201/128'],
    ['not an address', 64, 'not an address'],
  ];
  it.each(cases)('%s with /%i → %s', (address, prefix, key) => {
    expect(clientKey(address, prefix)).toBe(key);
  });

  it('every address of one /64 is one client; the next /64 is another', () => {
    const keys = new Set(
      Array.from({ length: 50 }, (_, i) => clientKey(`2001:db8:a:b:${i.toString(16)}::${i + 1}`, 64)),
    );
    expect([...keys]).toEqual(['2001:db8:a:b::/64']);
    expect(clientKey('2001:db8:a:c::1', 64)).not.toBe('2001:db8:a:b::/64');
  });
});
