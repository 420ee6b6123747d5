// Types for the unit tests (the browser loads sse.js directly; web/.assetsignore keeps this file unpublished).
export function sseParser(handlers: { onData: (data: string) => void; onComment?: (text: string) => void }): { push(text: string): void; end(): void };
export function parseWarmingComment(text: string): { phase: string; pct: number; done_mb: number | null; total_mb: number | null; eta_s: number | null } | null;
