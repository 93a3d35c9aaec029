/**
 * Which URLs the agent may fetch from, with no I/O. Downloads go only to http(s) hosts on an
 * allow-list that always contains loopback (RELIABILITY §7 test 5: no `file://`, no link-local
 * metadata endpoints, nothing from hosts nobody configured). Hosts are compared after WHATWG URL
 * parsing, which already canonicalises `0x7f.1`, `2130706433` and `[0:0::1]` spellings.
 */

export type UrlProblem = 'bad-url' | 'scheme' | 'host';

export type UrlCheck = { ok: true; url: URL } | { ok: false; problem: UrlProblem; message: string };

function bareHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  return host;
}

/** 127.0.0.0/8, ::1 (and its IPv4-mapped form) and `localhost`. */
export function isLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === 'localhost' || host === '::1') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  // The URL parser writes ::ffff:127.0.0.1 as ::ffff:7f00:1.
  return /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(host);
}

/**
 * True if the host is loopback or matches an allow-list entry: an exact host name or IP, or
 * `*.suffix`, which matches any name below the suffix but not the suffix itself.
 */
export function isHostAllowed(hostname: string, allowHosts: readonly string[]): boolean {
  if (isLoopbackHost(hostname)) return true;
  const host = bareHost(hostname);
  if (host === '') return false;
  for (const raw of allowHosts) {
    const pattern = bareHost(raw.trim());
    if (pattern.startsWith('*.')) {
      const suffix = pattern.slice(1);
      if (suffix.length > 1 && host.endsWith(suffix) && host.length > suffix.length) return true;
    } else if (pattern !== '' && host === pattern) {
      return true;
    }
  }
  return false;
}

/** Parses (relative to `base` for redirects) and checks one URL against the fetch policy. */
export function checkFetchUrl(raw: string, allowHosts: readonly string[], base?: URL): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return { ok: false, problem: 'bad-url', message: `${JSON.stringify(raw)} is not a valid URL` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return {
      ok: false,
      problem: 'scheme',
      message: `scheme ${url.protocol.replace(/:$/, '')} is not allowed; only http and https are`,
    };
  }
  // A redirect may not downgrade a TLS download to plaintext.
  if (base?.protocol === 'https:' && url.protocol === 'http:') {
    return {
      ok: false,
      problem: 'scheme',
      message: `redirect from https to http (${url.host}) refused`,
    };
  }
  if (!isHostAllowed(url.hostname, allowHosts)) {
    return {
      ok: false,
      problem: 'host',
      message: `host ${bareHost(url.hostname)} is not in the allow-list`,
    };
  }
  return { ok: true, url };
}

/**
 * PanDA cache names are immutable, except those ending `.__ow__` ("overwrite"), which a user may
 * upload again under the same name; those are never served from the URL index.
 */
export function isOverwriteUrl(raw: string): boolean {
  try {
    return new URL(raw).pathname.endsWith('.__ow__');
  } catch {
    return raw.endsWith('.__ow__');
  }
}
