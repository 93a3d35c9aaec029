/** The gauges of /metrics, read from the store and the endpoint registry. */
import type { ControlStore } from './control-store.js';
import type { EndpointRegistry } from './endpoint-registry.js';
import { JobState, stateName } from './job-record.js';
import type { Gauge } from './metrics.js';

export function controlGauges(store: ControlStore, registry: EndpointRegistry): Gauge[] {
  const byState = new Map<JobState, number>();
  for (const r of store.active()) byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
  const states = [
    JobState.QUEUED,
    JobState.DISPATCHED,
    JobState.ACCEPTED,
    JobState.STAGING,
    JobState.RUNNING,
    JobState.FINISHING,
    JobState.FINISHED,
    JobState.FAILED,
    JobState.CANCELLED,
  ];
  return [
    {
      name: 'pgc_control_jobs',
      help: 'Jobs the control plane works on (final ones until PanDA acknowledged them), by state.',
      samples: states.map((s) => ({ labels: { state: stateName(s) }, value: byState.get(s) ?? 0 })),
    },
    {
      name: 'pgc_control_endpoints_connected',
      help: 'Endpoints with a live agent stream.',
      samples: [{ value: registry.live().length }],
    },
    {
      name: 'pgc_control_report_outbox',
      help: 'PanDA updates waiting to be delivered.',
      samples: [{ value: store.outbox.size }],
    },
    {
      name: 'pgc_control_commands_pending',
      help: 'Agent commands waiting to be published to JetStream.',
      samples: [{ value: store.commands.size }],
    },
  ];
}
