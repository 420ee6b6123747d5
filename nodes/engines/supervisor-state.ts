/** The closed set of engine process states. */
export type EngineState = 'stopped' | 'starting' | 'ready' | 'stopping' | 'failed';

export type EngineEvent =
  | { type: 'start' }
  | { type: 'healthy' }
  | { type: 'start_timeout' }
  | { type: 'spawn_error' }
  | { type: 'exit' }
  | { type: 'stop' }
  | { type: 'grace_expired' };

/**
 * Side effects the supervisor performs after a transition, in order.
 * `spawn`: start the process (or nothing for engines without one) and poll health.
 * `terminate`: SIGTERM and arm the grace timer. `kill`: SIGKILL.
 * `fail_inflight`: end the requests that were being served by a process that died.
 */
export type EngineEffect = 'spawn' | 'terminate' | 'kill' | 'fail_inflight' | 'settle_ready' | 'settle_failed' | 'settle_stopped';

export interface Transition {
  state: EngineState;
  effects: EngineEffect[];
}

/**
 * Pure transition function. Events that do not apply in a state leave it
 * unchanged with no effects (e.g. a second `start` while starting joins it).
 */
export function transition(state: EngineState, event: EngineEvent): Transition {
  const stay: Transition = { state, effects: [] };
  switch (event.type) {
    case 'start':
      return state === 'stopped' || state === 'failed' ? { state: 'starting', effects: ['spawn'] } : stay;
    case 'healthy':
      return state === 'starting' ? { state: 'ready', effects: ['settle_ready'] } : stay;
    case 'start_timeout':
      return state === 'starting' ? { state: 'failed', effects: ['kill', 'settle_failed'] } : stay;
    case 'spawn_error':
      return state === 'starting' ? { state: 'failed', effects: ['settle_failed'] } : stay;
    case 'exit':
      if (state === 'starting') return { state: 'failed', effects: ['settle_failed'] };
      if (state === 'ready') return { state: 'failed', effects: ['fail_inflight', 'settle_failed'] };
      if (state === 'stopping') return { state: 'stopped', effects: ['settle_stopped'] };
      return stay;
    case 'stop':
      if (state === 'starting' || state === 'ready') return { state: 'stopping', effects: ['terminate'] };
      return stay;
    case 'grace_expired':
      return state === 'stopping' ? { state: 'stopping', effects: ['kill'] } : stay;
  }
}
