/**
 * The agent's counters since its process started, sent to the control plane with every ping
 * (AgentStats in gateway.proto) for its per-endpoint metrics, and served on the agent's own
 * /metrics when that is turned on.
 */
import type { JobEvent } from '../shared/gen/pgc/v1/events.js';
import type { AgentStats } from '../shared/gen/pgc/v1/gateway.js';
import { MetricsRegistry } from '../shared/prometheus.js';

export class AgentCounters {
  jobsStarted = 0;
  jobsSucceeded = 0;
  jobsFailed = 0;
  logBytesShipped = 0;
  outputBytesStored = 0;

  /** Counts what a job event says about the job: it started, or it ended and how. */
  onEvent(event: JobEvent): void {
    const body = event.body;
    if (body?.$case === 'running') this.jobsStarted++;
    else if (body?.$case === 'result') {
      if (body.result.failure === undefined) this.jobsSucceeded++;
      else this.jobsFailed++;
    }
  }

  snapshot(jobsRunning: number): AgentStats {
    return {
      jobsStarted: this.jobsStarted,
      jobsSucceeded: this.jobsSucceeded,
      jobsFailed: this.jobsFailed,
      jobsRunning,
      logBytesShipped: this.logBytesShipped,
      outputBytesStored: this.outputBytesStored,
      rssBytes: process.memoryUsage.rss(),
    };
  }
}

/** The same counters in Prometheus form, for an agent-local /metrics listener. */
export function agentRegistry(endpointId: string, stats: () => AgentStats): MetricsRegistry {
  const registry = new MetricsRegistry();
  const labels = { endpoint: endpointId };
  const one = (name: string, help: string, pick: (s: AgentStats) => number): void =>
    registry.gauge(name, help, () => [{ labels, value: pick(stats()) }]);
  one('pgc_agent_jobs_started', 'Jobs started since the agent started.', (s) => s.jobsStarted);
  one(
    'pgc_agent_jobs_succeeded',
    'Jobs that succeeded since the agent started.',
    (s) => s.jobsSucceeded,
  );
  one('pgc_agent_jobs_failed', 'Jobs that failed since the agent started.', (s) => s.jobsFailed);
  one('pgc_agent_jobs_running', 'Jobs running now.', (s) => s.jobsRunning);
  one(
    'pgc_agent_log_bytes_shipped',
    'Log bytes shipped to JetStream since the agent started.',
    (s) => s.logBytesShipped,
  );
  one(
    'pgc_agent_output_bytes_stored',
    'Output and log-archive bytes stored in the object store since the agent started.',
    (s) => s.outputBytesStored,
  );
  one('pgc_agent_rss_bytes', 'Resident memory of the agent.', (s) => s.rssBytes);
  return registry;
}
