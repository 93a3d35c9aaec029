/** The facts a reader needs to compare our figures with theirs: CPU, memory, versions, disk. */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';
import { findNatsServer } from '../../shared/nats/local-server.js';

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

export function machineFacts(): string[] {
  const cpu = cpus();
  const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);
  return [
    `CPU: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`,
    `memory: ${gib(totalmem())} GiB (${gib(freemem())} GiB free at start)`,
    `OS: ${run('uname', ['-srm'])}`,
    `Node ${process.version}; python3 ${run('python3', ['-c', 'import platform; print(platform.python_version())'])}; ${run(findNatsServer(process.env), ['--version'])}`,
    `temp directory on: ${run('df', ['-h', '--output=fstype,size', process.env.TMPDIR ?? '/tmp'])
      .split('\n')
      .slice(1)
      .join(' ')
      .trim()}`,
  ];
}

export function gitCommit(): string {
  const sha = run('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']);
  return dirty !== '' && dirty !== 'unknown' ? `${sha} (with uncommitted changes)` : sha;
}
