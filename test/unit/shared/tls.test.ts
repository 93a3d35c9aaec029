import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../shared/errors.js';
import {
  grpcChannelCredentials,
  grpcServerCredentials,
  isLoopbackHost,
  parseHostPort,
} from '../../../shared/tls.js';

describe('addresses', () => {
  it('parses host:port, [v6]:port and empty hosts', () => {
    expect(parseHostPort('127.0.0.1:7800')).toEqual({ host: '127.0.0.1', port: 7800 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseHostPort('cp.example.org:443')).toEqual({ host: 'cp.example.org', port: 443 });
    expect(() => parseHostPort('7800')).toThrow(ConfigError);
    expect(() => parseHostPort('h:70000')).toThrow(ConfigError);
  });

  it('knows loopback from the rest', () => {
    for (const h of ['localhost', '127.0.0.1', '127.8.9.10', '::1'])
      expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'cp.example.org', '128.0.0.1'])
      expect(isLoopbackHost(h)).toBe(false);
  });
});

describe('plaintext gRPC', () => {
  it('is allowed on loopback', () => {
    expect(() => grpcServerCredentials('127.0.0.1:0', undefined)).not.toThrow();
    expect(() => grpcChannelCredentials('localhost:7800', undefined)).not.toThrow();
  });

  it('refuses a network address without TLS unless --insecure', () => {
    expect(() => grpcServerCredentials('0.0.0.0:7800', undefined)).toThrow(
      /not a loopback address.*--insecure/,
    );
    expect(() => grpcChannelCredentials('cp.example.org:7800', undefined)).toThrow(ConfigError);
    expect(() => grpcServerCredentials('0.0.0.0:7800', undefined, true)).not.toThrow();
  });
});
