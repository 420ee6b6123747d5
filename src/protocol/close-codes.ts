/**
 * WebSocket close codes the edge uses when it ends an agent's socket.
 * 4000–4999 is the range RFC 6455 leaves to applications. The agent reconnects
 * after every code except those marked final, where retrying cannot help.
 */
export const CloseCode = {
  /** Too many invalid frames in a row. */
  protocolViolation: 4000,
  /** Missing or wrong node key. Final. */
  unauthorized: 4001,
  /** `node.hello.v` is not a version this edge speaks. Final. */
  unsupportedVersion: 4002,
  /** Another socket for the same node id connected; this one is superseded. */
  replaced: 4003,
  /** The operator revoked this node. Final. */
  revoked: 4004,
  /** A frame exceeded MAX_FRAME_BYTES. */
  frameTooLarge: 4009,
  /** No hello within the handshake window. */
  helloTimeout: 4008,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const FINAL = new Set<number>([CloseCode.unauthorized, CloseCode.unsupportedVersion, CloseCode.revoked]);

/** Whether an agent should stop reconnecting after the edge closed with `code`. */
export function isFinalClose(code: number): boolean {
  return FINAL.has(code);
}
