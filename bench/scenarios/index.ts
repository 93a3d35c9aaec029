/** Every benchmark scenario, in the order of issue 9's list. */
import type { Scenario } from '../lib/report.js';

export const SCENARIOS: Scenario[] = [];
