export * from './types';
export * from './demand';
export * from './footprint';
export { canPlace, comparePlacement, type PlaceNeed, type PlaceReason, type PlaceResult } from './placement';
export { buildContext, type ModelView, type NodeSlot, type PlanContext } from './context';
export { plan, newcomerScore } from './plan';
export { benchPlanner, benchState } from './bench';
export { swapsOf } from './swaps';
