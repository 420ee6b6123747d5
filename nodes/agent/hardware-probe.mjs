// Run by the agent as a short-lived child (`node hardware-probe.mjs`): loads node-llama-cpp's
// backend the way the builtin engine will (GPU auto-detection, prebuilt binaries only) and prints
// one JSON line with what it sees. A child, so the agent itself never holds a GPU context
// (CUDA reserves hundreds of MB per process) or the native binding's memory.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const llama = await getLlama({ gpu: 'auto', build: 'never', logLevel: LlamaLogLevel.error });
const report = {
  gpu: llama.gpu,
  vram: await llama.getVramState(),
  devices: await llama.getGpuDeviceNames(),
  cpuMathCores: llama.cpuMathCores,
};
process.stdout.write(`${JSON.stringify(report)}\n`);
await llama.dispose();
process.exit(0);
