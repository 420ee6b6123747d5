import type { NodeErrorCode, NodeToEdge } from '../../src/protocol';
import { publicMessage, redactSecrets } from '../../src/security/sanitize';

/**
 * What leaves the node about its failures. Two audiences, two rules (both
 * from src/security/sanitize.ts, which the edge applies again on receipt):
 *
 * - the node's own log keeps the full message (paths, hosts, engine stderr)
 *   with secrets redacted: `localText`;
 * - frames to the edge (`model.state` errors, `infer.error`, `error`) carry
 *   one short line with no URL, path, address, credential or engine stderr:
 *   `wireMessage`. Download errors pass through the same function (the
 *   downloader's messages name URLs and paths; nothing of them reaches the
 *   edge but their shape).
 *
 * Known secret values (the node key, HF_TOKEN) are registered once at start
 * and redacted wherever they appear.
 */
const secrets = new Set<string>();

/** Remembers a secret value so it is redacted from every log line and frame. Values under 8 characters are ignored. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) secrets.add(value);
}

/** The full text, for the node's local log, with every secret redacted. */
export function localText(text: string): string {
  return redactSecrets(text, [...secrets]);
}

/**
 * Engine failure reasons from the supervisor end with the engine's stderr
 * after the summary (`engine exited with code 1: <stderr>`), also when another
 * message wraps them (`RPC worker … is unreachable (engine exited with …: <stderr>)`);
 * only the summary may leave the node.
 */
const ENGINE_SUMMARY = /engine exited with [^:()]+|engine not ready after \d+ s|cannot start engine|no free port/;

/** `text` up to the end of its engine summary (stderr after it dropped, an opened parenthesis closed), or null. */
function upToSummary(text: string): string | null {
  const m = ENGINE_SUMMARY.exec(text);
  if (!m) return null;
  const kept = text.slice(0, m.index + m[0].length).trimEnd();
  const open = (kept.match(/\(/g)?.length ?? 0) - (kept.match(/\)/g)?.length ?? 0);
  return kept + ')'.repeat(Math.max(0, open));
}

/** One safe line for the edge: engine stderr dropped, then the public rules. */
export function wireMessage(code: NodeErrorCode, message: string): string {
  const text = localText(message);
  const summary = upToSummary(text);
  const fallback = code.replaceAll('_', ' ');
  if (summary) return publicMessage(summary, fallback);
  // "engine answered 500: <body>" and "engine stream broke: <cause>": the engine's words stay home.
  const engine = /^(engine answered \d{3}|engine stream broke|engine unreachable)/.exec(text)?.[1];
  return publicMessage(engine ?? text, fallback);
}

/** The frame as it may leave the node: every error message made safe (see `wireMessage`). Other frames pass unchanged. */
export function sanitizeFrame(frame: NodeToEdge): NodeToEdge {
  if (frame.type === 'model.state' && frame.error)
    return { ...frame, error: { code: frame.error.code, message: wireMessage(frame.error.code, frame.error.message) } };
  if (frame.type === 'infer.error' || frame.type === 'error') return { ...frame, message: wireMessage(frame.code, frame.message) };
  return frame;
}
