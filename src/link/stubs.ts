import type { Env } from '../env';

/** The single Hub of this fleet. */
export function hubStub(env: Env) {
  return env.HUB.get(env.HUB.idFromName('fleet'));
}

/** The NodeLink that holds `nodeId`'s socket. */
export function linkStub(env: Env, nodeId: string) {
  return env.NODE_LINK.get(env.NODE_LINK.idFromName(nodeId));
}
