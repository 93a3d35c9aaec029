/** Every benchmark scenario, in the order of issue 9's list. */
import type { Scenario } from '../lib/report.js';
import { agentFootprint } from './agent-footprint.js';
import { controlFootprint } from './control-footprint.js';
import { functions } from './functions.js';
import { kills } from './kills.js';
import { latency } from './latency.js';
import { logs } from './logs.js';
import { sandbox } from './sandbox.js';
import { scale } from './scale.js';
import { throughput } from './throughput.js';

export const SCENARIOS: Scenario[] = [
  throughput,
  latency,
  functions,
  kills,
  sandbox,
  logs,
  agentFootprint,
  controlFootprint,
  scale,
];
