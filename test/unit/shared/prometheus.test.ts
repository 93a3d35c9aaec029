import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../../shared/prometheus.js';

describe('the Prometheus text format', () => {
  it('renders counters, histograms and gauges with escaped labels', () => {
    const registry = new MetricsRegistry();
    const calls = registry.counter('pgc_calls_total', 'Calls.');
    calls.inc({ method: 'a' });
    calls.inc({ method: 'a' }, 2);
    calls.inc({ method: 'b"\\\n' });
    const latency = registry.histogram('pgc_latency_seconds', 'Latency.', [0.1, 1]);
    latency.observe(0.05);
    latency.observe(0.5);
    latency.observe(3);
    registry.gauge('pgc_things', 'Things.', () => [{ labels: { state: 'x' }, value: 4 }]);
    const text = registry.render();
    expect(text).toContain('# TYPE pgc_calls_total counter\npgc_calls_total{method="a"} 3\n');
    expect(text).toContain('pgc_calls_total{method="b\\"\\\\\\n"} 1');
    expect(text).toContain('# TYPE pgc_latency_seconds histogram');
    expect(text).toContain('pgc_latency_seconds_bucket{le="0.1"} 1\n');
    expect(text).toContain('pgc_latency_seconds_bucket{le="1"} 2\n');
    expect(text).toContain('pgc_latency_seconds_bucket{le="+Inf"} 3\n');
    expect(text).toContain('pgc_latency_seconds_sum 3.55\npgc_latency_seconds_count 3\n');
    expect(text).toContain('# TYPE pgc_things gauge\npgc_things{state="x"} 4\n');
    expect(text.endsWith('\n')).toBe(true);
  });

  it('keeps label sets apart whatever their key order, and refuses bad names', () => {
    const registry = new MetricsRegistry();
    const c = registry.counter('pgc_x_total', 'X.');
    c.inc({ a: '1', b: '2' });
    c.inc({ b: '2', a: '1' });
    expect(c.value({ a: '1', b: '2' })).toBe(2);
    c.set({ a: '9' }, 40);
    expect(c.value({ a: '9' })).toBe(40);
    expect(() => registry.counter('bad name', 'no').render()).toThrow(/bad metric name/);
  });
});
