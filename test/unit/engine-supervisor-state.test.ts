import { describe, expect, it } from 'vitest';
import { transition, type EngineEvent, type EngineState } from '../../nodes/engines/supervisor-state';

describe('engine supervisor transitions', () => {
  it.each<[string, EngineState, EngineEvent['type'], EngineState, string[]]>([
    ['start from stopped spawns', 'stopped', 'start', 'starting', ['spawn']],
    ['start after a failure spawns again', 'failed', 'start', 'starting', ['spawn']],
    ['start while starting joins', 'starting', 'start', 'starting', []],
    ['start while ready is a no-op', 'ready', 'start', 'ready', []],
    ['start while stopping waits', 'stopping', 'start', 'stopping', []],
    ['healthy while starting is ready', 'starting', 'healthy', 'ready', ['settle_ready']],
    ['late healthy after stop is ignored', 'stopping', 'healthy', 'stopping', []],
    ['start timeout kills and fails', 'starting', 'start_timeout', 'failed', ['kill', 'settle_failed']],
    ['stale start timeout is ignored', 'ready', 'start_timeout', 'ready', []],
    ['spawn error fails the start', 'starting', 'spawn_error', 'failed', ['settle_failed']],
    ['exit while starting fails the start', 'starting', 'exit', 'failed', ['settle_failed']],
    ['exit while ready is a crash', 'ready', 'exit', 'failed', ['fail_inflight', 'settle_failed']],
    ['exit while stopping is a stop', 'stopping', 'exit', 'stopped', ['settle_stopped']],
    ['exit after failure changes nothing', 'failed', 'exit', 'failed', []],
    ['stop when ready terminates', 'ready', 'stop', 'stopping', ['terminate']],
    ['stop while starting terminates', 'starting', 'stop', 'stopping', ['terminate']],
    ['stop when stopped is a no-op', 'stopped', 'stop', 'stopped', []],
    ['stop when failed is a no-op', 'failed', 'stop', 'failed', []],
    ['grace expiry escalates to SIGKILL', 'stopping', 'grace_expired', 'stopping', ['kill']],
    ['grace expiry after exit is ignored', 'stopped', 'grace_expired', 'stopped', []],
  ])('%s', (_name, from, event, to, effects) => {
    expect(transition(from, { type: event } as EngineEvent)).toEqual({ state: to, effects });
  });
});
