import { defineConfig } from 'vitest/config';

// Unit tests do no I/O and run in parallel. Integration and end-to-end files start real servers
// (nats-server, gRPC, child processes) on a 2-core machine, so they run one file at a time.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
