export {
  ATTRIBUTES,
  type Attributes,
  errorType,
  packageOf,
} from './attributes.js';
export type { CallOutcome } from './call-tracing.js';
export {
  isOtelError,
  OtelApiMissingError,
  type OtelError,
  type OtelErrorCode,
  OtelOptionsError,
} from './errors.js';
export {
  INSTRUMENTATION_SCOPE,
  type Instrumentation,
  instrument,
} from './instrument.js';
export {
  INSTRUMENTS,
  type InstrumentKey,
  type InstrumentKind,
  type InstrumentSpec,
  LOCK_WAIT_BUCKETS,
  OPERATION_DURATION_BUCKETS,
} from './instruments.js';
export {
  INSTRUMENT_DEFAULTS,
  type InstrumentOptions,
} from './options.js';
export { SPAN_EVENTS, type SpanEventSpec } from './span-events.js';
