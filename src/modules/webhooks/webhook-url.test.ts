import { checkEndpointUrl, isAddressAllowed } from './webhook-url.js';

const prod = { allowHttpLocalhost: false, allowPrivateNetworks: false };
const dev = { allowHttpLocalhost: true, allowPrivateNetworks: false };
const intranet = { allowHttpLocalhost: false, allowPrivateNetworks: true };

describe('isAddressAllowed', () => {
  it.each(['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946', '8.8.8.8'])('public %s', (a) =>
    expect(isAddressAllowed(a, prod)).toBe(true),
  );
  it.each([
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fe80::1',
    'fd12:3456::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
  ])('not public: %s', (a) => {
    expect(isAddressAllowed(a, prod)).toBe(false);
    expect(isAddressAllowed(a, intranet)).toBe(true);
  });
  it('loopback only when http://localhost is allowed', () => {
    expect(isAddressAllowed('127.0.0.1', dev)).toBe(true);
    expect(isAddressAllowed('::1', dev)).toBe(true);
    expect(isAddressAllowed('10.0.0.1', dev)).toBe(false);
  });
  it('not an address', () => expect(isAddressAllowed('example.com', intranet)).toBe(false));
});

describe('checkEndpointUrl', () => {
  it('accepts https with a public or named host', () => {
    expect(checkEndpointUrl('https://hooks.example.com:8443/in?a=1', prod).toString()).toBe('https://hooks.example.com:8443/in?a=1');
    expect(checkEndpointUrl('https://93.184.216.34/in', prod).hostname).toBe('93.184.216.34');
  });
  it('http only for localhost, only when allowed', () => {
    for (const url of ['http://localhost:3000/h', 'http://127.0.0.1:3000/h', 'http://[::1]:3000/h', 'http://api.localhost/h']) {
      expect(() => checkEndpointUrl(url, prod)).toThrow(/https/);
      expect(checkEndpointUrl(url, dev).toString()).toBe(url);
    }
    expect(() => checkEndpointUrl('http://example.com/h', dev)).toThrow('url: must use https (http is accepted for localhost only)');
    expect(() => checkEndpointUrl('http://10.0.0.1/h', { allowHttpLocalhost: true, allowPrivateNetworks: true })).toThrow(/https/);
  });
  it('refuses private literals, localhost names, credentials, fragments, other schemes, long URLs', () => {
    expect(() => checkEndpointUrl('https://192.168.0.10/h', prod)).toThrow(/private/);
    expect(checkEndpointUrl('https://192.168.0.10/h', intranet).hostname).toBe('192.168.0.10');
    expect(() => checkEndpointUrl('https://localhost/h', prod)).toThrow(/localhost/);
    expect(() => checkEndpointUrl('https://a:b@example.com/h', prod)).toThrow(/credentials/);
    expect(() => checkEndpointUrl('https://example.com/h#x', prod)).toThrow(/fragment/);
    expect(() => checkEndpointUrl('file:///etc/passwd', prod)).toThrow(/https/);
    expect(() => checkEndpointUrl('//example.com', prod)).toThrow(/absolute/);
    expect(() => checkEndpointUrl(`https://example.com/${'a'.repeat(2048)}`, prod)).toThrow(/2048/);
  });
});
