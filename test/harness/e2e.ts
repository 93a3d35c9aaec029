/** The standard end-to-end system: two queues, two agents serving both, short intervals. */
import { type SystemOptions, TestSystem } from './system.js';
import { uploadCalcPackage } from './workload.js';

export const E2E_QUEUES = ['E2E_Q1', 'E2E_Q2'];
export const E2E_ENDPOINTS = ['e2e-a', 'e2e-b'];
export const E2E_CONTROL = {
  statusPollIntervalMs: 2000,
  pandaHeartbeatIntervalMs: 5000,
  pollIntervalMs: 500,
  idlePollIntervalMs: 1000,
};

export async function startE2E(
  dir: string,
  extra: Partial<SystemOptions> = {},
): Promise<TestSystem> {
  const system = await TestSystem.start({
    dir,
    queues: E2E_QUEUES,
    agents: E2E_ENDPOINTS.map((endpointId) => ({ endpointId, queues: E2E_QUEUES })),
    control: E2E_CONTROL,
    simTimeouts: { adderDelayMs: 100, watchdogIntervalMs: 500 },
    ...extra,
  });
  await uploadCalcPackage(system.sim, dir);
  return system;
}
