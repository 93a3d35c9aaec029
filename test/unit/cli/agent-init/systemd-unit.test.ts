import { describe, expect, it } from 'vitest';
import { execWord, renderAgentUnit } from '../../../../cli/agent-init/systemd-unit.js';

describe('systemd unit of pgc agent init', () => {
  it('leaves plain paths bare and quotes the rest so systemd reads back the same word', () => {
    expect(execWord('/usr/bin/node')).toBe('/usr/bin/node');
    expect(execWord('/home/a b/agent.yaml')).toBe('"/home/a b/agent.yaml"');
    expect(execWord('/x/"q"\\y')).toBe('"/x/\\"q\\"\\\\y"');
    // % starts a specifier and $ a variable in ExecStart: both are doubled to mean themselves.
    expect(execWord('/x/100%')).toBe('"/x/100%%"');
    expect(execWord('/x/$HOME')).toBe('"/x/$$HOME"');
  });

  it('refuses a word with a control character, which no unit line can carry', () => {
    expect(() => execWord('/x/a\nExecStartPre=/bin/evil')).toThrow(/control character/);
  });

  it('stops the agent alone, restarts it always and runs the given pgc on the config', () => {
    const unit = renderAgentUnit({
      endpointId: 'ep-1',
      version: '1.2.3',
      pgcCommand: ['/opt/pgc-agent-1.2.3/bin/pgc'],
      configFile: '/home/u/.pgc/agent-ep-1.yaml',
    });
    const directives = unit.split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
    expect(directives).toEqual([
      'Description=panda-gc agent for endpoint ep-1',
      'Type=simple',
      'ExecStart=/opt/pgc-agent-1.2.3/bin/pgc agent run --config /home/u/.pgc/agent-ep-1.yaml',
      'KillMode=process',
      'KillSignal=SIGTERM',
      'TimeoutStopSec=60',
      'Restart=always',
      'RestartSec=5',
      'WantedBy=default.target',
    ]);
  });
});
