import { execFileSync } from 'node:child_process';
import os from 'node:os';
import type { MemoryProbes } from './memory';

/** The real machine's probes for `detectBudget`. */
export function systemProbes(configuredMb?: number): MemoryProbes {
  return {
    configuredMb,
    totalMemBytes: os.totalmem(),
    nvidiaSmi: () => {
      try {
        return execFileSync('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], {
          encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch {
        return null;
      }
    },
  };
}
