/**
 * What the control plane's /metrics shows: jobs by state, endpoints by state, the report outbox
 * and pending commands (read at scrape time); dispatch and end-to-end latency histograms (from
 * the store's state changes); PanDA calls by outcome with their durations; and per-endpoint
 * series from the counters each agent sends with its pings (AgentStats).
 */
import { EndpointStatus } from '../shared/gen/pgc/v1/admin.js';
import type { AgentStats } from '../shared/gen/pgc/v1/gateway.js';
import { MetricsRegistry } from '../shared/prometheus.js';
import { endpointInfos } from './admin/endpoint-info.js';
import type { ControlStore, StoreChange } from './control-store.js';
import type { EndpointRegistry } from './endpoint-registry.js';
import { isFinal, JobState, stateName } from './job-record.js';
import type { CallOutcome } from './panda/client.js';

const JOB_STATES = [
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

const ENDPOINT_STATES: ReadonlyArray<[EndpointStatus, string]> = [
  [EndpointStatus.ONLINE, 'online'],
  [EndpointStatus.DRAINING, 'draining'],
  [EndpointStatus.OFFLINE, 'offline'],
];

export class ControlMetrics {
  readonly registry = new MetricsRegistry();
  private readonly dispatchLatency = this.registry.histogram(
    'pgc_control_dispatch_latency_seconds',
    'From sending a dispatch to the agent accepting it.',
  );
  private readonly jobLatency = this.registry.histogram(
    'pgc_control_job_duration_seconds',
    'From acquiring a job from PanDA to its final state, by outcome.',
  );
  private readonly pandaCalls = this.registry.counter(
    'pgc_panda_calls_total',
    'PanDA HTTP attempts by method and outcome (ok, rejected, http_error, protocol, timeout, unreachable).',
  );
  private readonly pandaSeconds = this.registry.histogram(
    'pgc_panda_call_duration_seconds',
    'Duration of PanDA HTTP attempts by method.',
  );
  private readonly agentCounters = {
    jobsStarted: this.registry.counter(
      'pgc_endpoint_jobs_started_total',
      'Jobs the endpoint started (since its agent started).',
    ),
    jobsSucceeded: this.registry.counter(
      'pgc_endpoint_jobs_succeeded_total',
      'Jobs that ended successfully at the endpoint.',
    ),
    jobsFailed: this.registry.counter(
      'pgc_endpoint_jobs_failed_total',
      'Jobs that failed at the endpoint.',
    ),
    logBytesShipped: this.registry.counter(
      'pgc_endpoint_log_bytes_shipped_total',
      'Log bytes the endpoint shipped to JetStream.',
    ),
    outputBytesStored: this.registry.counter(
      'pgc_endpoint_output_bytes_stored_total',
      'Output and log-archive bytes the endpoint stored in its object store.',
    ),
  } as const;
  private readonly agentStats = new Map<string, AgentStats>();

  constructor(store: ControlStore, registry: EndpointRegistry) {
    this.registry.gauge(
      'pgc_control_jobs',
      'Jobs the control plane works on (final ones until PanDA acknowledged them), by state.',
      () => {
        const byState = new Map<JobState, number>();
        for (const r of store.active()) byState.set(r.state, (byState.get(r.state) ?? 0) + 1);
        return JOB_STATES.map((s) => ({
          labels: { state: stateName(s) },
          value: byState.get(s) ?? 0,
        }));
      },
    );
    this.registry.gauge(
      'pgc_control_endpoints_connected',
      'Endpoints with a live agent stream.',
      () => [{ value: registry.live().length }],
    );
    this.registry.gauge('pgc_control_endpoints', 'Known endpoints by state.', () => {
      const infos = endpointInfos(store, registry);
      return ENDPOINT_STATES.map(([status, name]) => ({
        labels: { state: name },
        value: infos.filter((i) => i.status === status).length,
      }));
    });
    this.registry.gauge('pgc_endpoint_slots', 'Slots of each endpoint, used and total.', () =>
      endpointInfos(store, registry).flatMap((i) => [
        { labels: { endpoint: i.endpointId, kind: 'used' }, value: i.capacity?.slotsUsed ?? 0 },
        { labels: { endpoint: i.endpointId, kind: 'total' }, value: i.capacity?.slotsTotal ?? 0 },
      ]),
    );
    this.registry.gauge(
      'pgc_endpoint_jobs_running',
      'Jobs running at each endpoint (its agent’s view).',
      () =>
        [...this.agentStats].map(([endpoint, s]) => ({
          labels: { endpoint },
          value: s.jobsRunning,
        })),
    );
    this.registry.gauge(
      'pgc_endpoint_agent_rss_bytes',
      'Resident memory of each endpoint’s agent.',
      () =>
        [...this.agentStats].map(([endpoint, s]) => ({ labels: { endpoint }, value: s.rssBytes })),
    );
    this.registry.gauge(
      'pgc_control_report_outbox',
      'PanDA updates waiting to be delivered.',
      () => [{ value: store.outbox.size }],
    );
    this.registry.gauge(
      'pgc_control_commands_pending',
      'Agent commands waiting to be published to JetStream.',
      () => [{ value: store.commands.size }],
    );
  }

  /** Feeds the latency histograms from a store write. */
  onStoreChange(change: StoreChange, nowMs: number): void {
    for (const { record, from } of change.moved) {
      const accepted = from === JobState.DISPATCHED && record.state === JobState.ACCEPTED;
      if (accepted && record.dispatchedAtMs !== undefined)
        this.dispatchLatency.observe(Math.max(0, nowMs - record.dispatchedAtMs) / 1000);
      if (isFinal(record.state) && (from === undefined || !isFinal(from)))
        this.jobLatency.observe(Math.max(0, nowMs - record.createdAtMs) / 1000, {
          outcome: stateName(record.state),
        });
    }
  }

  onPandaCall(method: string, outcome: CallOutcome, durationMs: number): void {
    this.pandaCalls.inc({ method, outcome });
    this.pandaSeconds.observe(durationMs / 1000, { method });
  }

  onAgentStats(endpointId: string, stats: AgentStats): void {
    this.agentStats.set(endpointId, stats);
    for (const [field, counter] of Object.entries(this.agentCounters))
      counter.set({ endpoint: endpointId }, stats[field as keyof typeof this.agentCounters]);
  }

  render(): string {
    return this.registry.render();
  }
}
