// What the sentinels publish about a failover, on their own pub/sub (one channel per event, the
// message is the instance as Sentinel prints it):
//   "master <name> <ip> <port>"                                   (an event of a primary)
//   "slave <ip>:<port> <ip> <port> @ <name> <master-ip> <master-port>"  (an event of a replica)
//   "<name> <old-ip> <old-port> <new-ip> <new-port>"               (+switch-master)
// Only the sentinel that runs a failover publishes its steps; every sentinel publishes
// +switch-master once it knows the new primary.

/** A data node's address as the sentinels name it. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** What one sentinel message says about the failover of one primary. */
export type FailoverEvent =
  /** A failover of the primary at `master` is under way (one of its steps). */
  | { readonly type: 'step'; readonly master: Endpoint }
  /** The sentinels now name `to` as the primary instead of `from`. */
  | { readonly type: 'switch'; readonly from: Endpoint; readonly to: Endpoint }
  /** This sentinel gave its failover up: the primary stays where it was. */
  | { readonly type: 'abort' };

/**
 * The steps of a failover, from the first attempt to the last one before the sentinels switch to
 * the new primary (the replica is promoted between `+failover-state-send-slaveof-noone` and
 * `+promoted-slave`; `+failover-end` comes before the switch is published, so it is a step too).
 */
export const FAILOVER_STEPS: readonly string[] = [
  '+try-failover',
  '+elected-leader',
  '+failover-state-select-slave',
  '+selected-slave',
  '+failover-state-send-slaveof-noone',
  '+failover-state-wait-promotion',
  '+promoted-slave',
  '+failover-state-reconf-slaves',
  '+slave-reconf-sent',
  '+slave-reconf-inprog',
  '+slave-reconf-done',
  '+failover-end-for-timeout',
  '+failover-end',
];

/** The ways a sentinel gives a failover up. */
export const FAILOVER_ABORTS: readonly string[] = [
  '-failover-abort-not-elected',
  '-failover-abort-no-good-slave',
  '-failover-abort-slave-timeout',
];

export const SWITCH_MASTER = '+switch-master';

/** Every channel to subscribe to. */
export const FAILOVER_CHANNELS: readonly string[] = [
  ...FAILOVER_STEPS,
  ...FAILOVER_ABORTS,
  SWITCH_MASTER,
];

/**
 * Reads one sentinel message: what it says about the primary named `masterName`, or `undefined`
 * when it is about another primary, another event, or has a shape this does not know.
 */
export function parseFailoverEvent(
  channel: string,
  message: string,
  masterName: string,
): FailoverEvent | undefined {
  const words = message.trim().split(/\s+/);
  if (channel === SWITCH_MASTER) {
    if (words.length < 5 || words[0] !== masterName) return undefined;
    const from = endpoint(words[1], words[2]);
    const to = endpoint(words[3], words[4]);
    return from !== undefined && to !== undefined ? { type: 'switch', from, to } : undefined;
  }
  const isStep = FAILOVER_STEPS.includes(channel);
  if (!isStep && !FAILOVER_ABORTS.includes(channel)) return undefined;
  let master: Endpoint | undefined;
  if (words[0] === 'master') {
    if (words[1] !== masterName) return undefined;
    master = endpoint(words[2], words[3]);
  } else {
    const at = words.indexOf('@');
    if (at < 0 || words[at + 1] !== masterName) return undefined;
    master = endpoint(words[at + 2], words[at + 3]);
  }
  if (master === undefined) return undefined;
  return isStep ? { type: 'step', master } : { type: 'abort' };
}

function endpoint(host: string | undefined, port: string | undefined): Endpoint | undefined {
  const n = Number(port);
  if (host === undefined || host === '' || !Number.isInteger(n) || n < 1 || n > 65_535) {
    return undefined;
  }
  return { host, port: n };
}
