import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files run side by side (each owns its lab); 2 cores do not gain from more.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
