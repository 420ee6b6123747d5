import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { runtimeFile } from '../runtime-files';
import { NVIDIA_SMI_ARGS, parseLlamaReport, parseNvidiaSmi, parseRocmSmi, physicalCoresFromCpuinfo, ROCM_SMI_ARGS } from './hardware';
import type { MachineReport } from './memory';

/** Runs a command; its stdout, or null when it is missing, fails or takes too long. Never throws. */
function output(cmd: string, args: string[], timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout) => resolve(err ? null : stdout));
  });
}

/**
 * Gathers the real machine's report for `decideHardware`, all probes at once: node-llama-cpp in a
 * child process (hardware-probe.mjs; about a second), nvidia-smi, rocm-smi, RAM and cores.
 */
export async function probeMachine(configuredMb?: number): Promise<MachineReport> {
  const [llama, nvidia, rocm, cpuinfo] = await Promise.all([
    output(process.execPath, [runtimeFile('agent/hardware-probe.mjs')], 60_000),
    output('nvidia-smi', NVIDIA_SMI_ARGS, 10_000),
    output('rocm-smi', ROCM_SMI_ARGS, 10_000),
    process.platform === 'linux' ? readFile('/proc/cpuinfo', 'utf8').catch(() => null) : Promise.resolve(null),
  ]);
  return {
    configuredMb,
    llama: llama === null ? null : parseLlamaReport(llama),
    nvidia: nvidia === null ? null : parseNvidiaSmi(nvidia),
    rocm: rocm === null ? null : parseRocmSmi(rocm),
    totalMemBytes: os.totalmem(),
    freeMemBytes: os.freemem(),
    logicalCpus: os.availableParallelism(),
    physicalCores: cpuinfo === null ? null : physicalCoresFromCpuinfo(cpuinfo),
  };
}

/**
 * Default CPU threads without the node-llama-cpp probe (`porten worker`, which loads no model here):
 * physical cores from /proc/cpuinfo on Linux, else the logical CPU count.
 */
export async function physicalCores(): Promise<number> {
  const cpuinfo = process.platform === 'linux' ? await readFile('/proc/cpuinfo', 'utf8').catch(() => null) : null;
  return Math.max(1, (cpuinfo === null ? null : physicalCoresFromCpuinfo(cpuinfo)) ?? os.availableParallelism());
}
