import type { FailoverRow, Row } from './report';

/** Settings shared by every case. */
export interface BenchContext {
  /** `--quick`: fewer rounds and shorter runs; figures are noisier. */
  quick: boolean;
  /** Measured A/B rounds per pair (after one warm-up round). */
  rounds: number;
  /** Progress line on stderr (stdout carries only the report). */
  log(message: string): void;
}

/** What a case hands back. */
export interface CaseResult {
  rows: Row[];
  failover?: FailoverRow[];
}

/** One benchmark case. */
export interface BenchCase {
  run(ctx: BenchContext): Promise<CaseResult>;
}
