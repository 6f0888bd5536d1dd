import { expect, it } from 'vitest';
import { IPv4, IPv4CidrRange } from 'ip-num';
import { ipToInt, parseCidr } from '../../src/util/ipv4.js';
it('matches ip-num', () => {
  for (const ip of ['0.0.0.0', '255.255.255.255', '10.244.1.7', '192.168.50.1', '1.2.3.4']) expect(ipToInt(ip)).toBe(Number(IPv4.fromString(ip).value));
  for (const c of ['10.244.0.0/16', '10.244.1.5/26', '0.0.0.0/0', '192.168.50.7/32', '172.31.255.0/28']) {
    const r = IPv4CidrRange.fromCidr(c);
    expect(parseCidr(c)).toEqual({ base: Number(r.getFirst().value), prefix: Number(r.getPrefix().value), size: Number(r.getSize()) });
  }
  expect(() => ipToInt('1.2.3')).toThrow();
  expect(() => parseCidr('10.0.0.0/33')).toThrow();
});
