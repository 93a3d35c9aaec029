#!/usr/bin/env node
// `npm audit --omit=dev`: fails on any high or critical advisory in what we ship. Where the
// registry's advisory service cannot be reached (this workplace's registry answers the bulk
// advisory POST with 405), it says so plainly and does not pretend to have checked.
import { execFileSync } from 'node:child_process';

let text;
try {
  text = execFileSync('npm', ['audit', '--omit=dev', '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
} catch (err) {
  // npm audit exits non-zero when it found something; its report is still on stdout.
  text = err.stdout ?? '';
}
let report;
try {
  report = JSON.parse(text);
} catch {
  console.error(`npm audit printed no JSON report:\n${text.slice(0, 500)}`);
  process.exit(1);
}
if (report.metadata?.vulnerabilities === undefined) {
  const why = report.message ?? report.error?.summary ?? 'no advisory data';
  console.log(`npm audit: the advisory service is unavailable here (${why}); nothing was checked`);
  process.exit(0);
}
const counts = report.metadata.vulnerabilities;
const serious = (counts.high ?? 0) + (counts.critical ?? 0);
const deps = report.metadata.dependencies?.prod ?? report.metadata.dependencies?.total ?? '?';
console.log(
  `npm audit --omit=dev: ${deps} production dependencies; ` +
    Object.entries(counts)
      .map(([level, n]) => `${level} ${n}`)
      .join(', '),
);
if (serious > 0) {
  for (const [name, v] of Object.entries(report.vulnerabilities ?? {}))
    if (v.severity === 'high' || v.severity === 'critical')
      console.error(`  ${v.severity}: ${name} ${v.range ?? ''}`);
  process.exit(1);
}
