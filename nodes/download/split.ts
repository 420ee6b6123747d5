/**
 * Split GGUFs: llama.cpp's `gguf-split` writes `<prefix>-00001-of-00003.gguf`, … and both
 * node-llama-cpp and llama-server load the whole model from its first part when the others sit
 * beside it under the same names. A catalog reference names the first part; the node downloads
 * every part as one model and loads the first. Pure.
 */
const SPLIT_NAME = /^(.+)-(\d{5})-of-(\d{5})\.gguf$/i;
/** In a URL: the part counter, before an optional `@revision`, query or fragment. */
const SPLIT_IN_URL = /-(\d{5})-of-(\d{5})\.gguf(?=$|[@?#])/i;

const pad = (n: number) => String(n).padStart(5, '0');

export interface SplitName {
  prefix: string;
  index: number;
  count: number;
}

/** `model-00002-of-00003.gguf` → {prefix: 'model', index: 2, count: 3}; null for a single file or a malformed counter. */
export function splitOf(fileName: string): SplitName | null {
  const m = SPLIT_NAME.exec(fileName);
  if (!m) return null;
  const index = Number(m[2]);
  const count = Number(m[3]);
  return index >= 1 && count >= 2 && index <= count ? { prefix: m[1], index, count } : null;
}

export function partName(prefix: string, index: number, count: number): string {
  return `${prefix}-${pad(index)}-of-${pad(count)}.gguf`;
}

/**
 * The URLs to fetch for a model reference: every part, in order, when it names part 1 of a split
 * GGUF; else the reference itself. Throws on a reference to a later part (the first part is the
 * one the engines load, so the catalog must name it).
 */
export function partUrls(url: string): string[] {
  const m = SPLIT_IN_URL.exec(url);
  if (!m) return [url];
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 2 || index < 1 || index > count) return [url];
  if (index !== 1) throw new Error(`a split GGUF reference must name its first part (-00001-of-${pad(count)}.gguf), not part ${index}`);
  return Array.from({ length: count }, (_, i) => `${url.slice(0, m.index)}-${pad(i + 1)}-of-${pad(count)}.gguf${url.slice(m.index + m[0].length)}`);
}
