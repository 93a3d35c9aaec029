import { describe, expect, it } from 'vitest';
import {
  checkFetchUrl,
  isHostAllowed,
  isLoopbackHost,
  isOverwriteUrl,
} from '../../../../agent/sandbox/url-policy.js';

describe('loopback hosts', () => {
  it.each([
    'localhost',
    'LOCALHOST.',
    '127.0.0.1',
    '127.255.0.9',
    '[::1]',
    '::1',
    '[::ffff:7f00:1]',
  ])('%s is loopback', (host) => expect(isLoopbackHost(host)).toBe(true));
  it.each([
    '127.0.0.1.evil.com',
    '128.0.0.1',
    '169.254.169.254',
    '[::2]',
    'localhost.evil',
    '10.0.0.1',
    '',
  ])('%s is not loopback', (host) => expect(isLoopbackHost(host)).toBe(false));
  it('sees through the spellings the URL parser canonicalises', () => {
    for (const url of [
      'http://2130706433/x',
      'http://0x7f.1/x',
      'http://[0:0:0:0:0:0:0:1]/x',
      'http://[::ffff:127.0.0.1]/x',
    ]) {
      expect(checkFetchUrl(url, []).ok).toBe(true);
    }
  });
});

describe('allow-list', () => {
  const allow = ['pandaserver.cern.ch', '*.bnl.gov', '10.1.2.3'];
  it('matches exact names, case-insensitively', () => {
    expect(isHostAllowed('PandaServer.CERN.ch', allow)).toBe(true);
    expect(isHostAllowed('pandaserver.cern.ch.evil.org', allow)).toBe(false);
    expect(isHostAllowed('xpandaserver.cern.ch', allow)).toBe(false);
    expect(isHostAllowed('10.1.2.3', allow)).toBe(true);
  });
  it('matches *.suffix below the suffix only', () => {
    expect(isHostAllowed('a.bnl.gov', allow)).toBe(true);
    expect(isHostAllowed('a.b.bnl.gov', allow)).toBe(true);
    expect(isHostAllowed('bnl.gov', allow)).toBe(false);
    expect(isHostAllowed('evilbnl.gov', allow)).toBe(false);
  });
  it('always allows loopback and nothing else by default', () => {
    expect(isHostAllowed('127.0.0.1', [])).toBe(true);
    expect(isHostAllowed('example.org', [])).toBe(false);
  });
});

describe('checkFetchUrl', () => {
  it('refuses other schemes and unknown hosts with a message naming them', () => {
    expect(checkFetchUrl('file:///etc/passwd', [])).toMatchObject({ ok: false, problem: 'scheme' });
    expect(checkFetchUrl('ftp://127.0.0.1/x', [])).toMatchObject({ ok: false, problem: 'scheme' });
    expect(checkFetchUrl('http://evil.example/x', [])).toEqual({
      ok: false,
      problem: 'host',
      message: 'host evil.example is not in the allow-list',
    });
    expect(checkFetchUrl('http://169.254.169.254/latest/meta-data', [])).toMatchObject({
      problem: 'host',
    });
    expect(checkFetchUrl('not a url', [])).toMatchObject({ ok: false, problem: 'bad-url' });
  });
  it('resolves redirects against the current URL and refuses https → http', () => {
    const base = new URL('https://a.bnl.gov/cache/x');
    const relative = checkFetchUrl('/cache/y', ['*.bnl.gov'], base);
    expect(relative.ok && relative.url.href).toBe('https://a.bnl.gov/cache/y');
    expect(checkFetchUrl('http://a.bnl.gov/y', ['*.bnl.gov'], base)).toMatchObject({
      ok: false,
      problem: 'scheme',
    });
    expect(checkFetchUrl('http://127.0.0.1/y', [], new URL('http://localhost/x')).ok).toBe(true);
  });
});

describe('isOverwriteUrl', () => {
  it('recognises PanDA .__ow__ names, ignoring the query', () => {
    expect(isOverwriteUrl('https://panda/cache/user.x.tgz.__ow__')).toBe(true);
    expect(isOverwriteUrl('https://panda/cache/user.x.tgz.__ow__?t=1')).toBe(true);
    expect(isOverwriteUrl('https://panda/cache/user.x.tgz')).toBe(false);
    expect(isOverwriteUrl('https://panda/cache/x.__ow__.tgz')).toBe(false);
  });
});
