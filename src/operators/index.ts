/**
 * The RxJS operators: `barrierEnter`, `barrierWait`, `barrierState`,
 * `concatMapByKey` and the composed `orderedDelivery`. Everything here is
 * also exported from `rx-barrier` itself; this entry stays as an alias.
 *
 * @module rx-barrier/operators
 */
export { concatMapByKey } from './concat-map-by-key.js';
export { barrierEnter } from './barrier-enter.js';
export { barrierWait } from './barrier-wait.js';
export { barrierState } from './barrier-state.js';
export type { JobStatus, DeliveryResult } from '../store/job-status.js';
export { orderedDelivery, ORDERED_DELIVERY_DEFAULTS } from './ordered-delivery.js';
export type {
  CheckedDeliveryReturn,
  DeliveryContext,
  DeliveryOutcome,
  DeliveryReport,
  DeliveryReturn,
  OrderedDeliveryOptions,
  RetryAfterOutcome,
} from './ordered-delivery.js';
