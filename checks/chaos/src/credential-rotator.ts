// Rotates the password of an ACL user the way a secrets manager does (add the new password, hand
// it out, then remove the one before the previous, so that two are valid during the switch), and
// kills the user's connections (`CLIENT KILL USER`) in between, so that clients reconnect and
// authenticate again with whatever password is current at that moment.
import { randomBytes } from 'node:crypto';
import { withAdmin } from '@x/testkit';

/** Options of {@link startCredentialRotation}. */
export interface CredentialRotationOptions {
  /** The ACL user (created by the test kit's `user` option, or by the first rotation). */
  username: string;
  /** Its password when the rotation starts. */
  password: string;
  /** Ports of every data node whose ACL holds the user (read at every step: a topology may change). */
  nodes: () => number[];
  /** Rotate this often, ms. @default 200 */
  rotateEveryMs?: number;
  /** Kill the user's connections this often, ms (`0`: never). @default 300 */
  killEveryMs?: number;
  /**
   * Hands a new password out (writes the file the workers read...). Called after the server
   * accepts it and before the one before the previous is removed.
   * @default nothing (read {@link CredentialRotation.current})
   */
  publish?: (password: string) => void | Promise<void>;
}

/** What a rotation did. */
export interface RotationFigures {
  /** Completed rotations (new password added, handed out, the one before the previous removed). */
  rotations: number;
  /** `CLIENT KILL USER` rounds sent (one per node per round). */
  killRounds: number;
  /** Connections those rounds closed. */
  killed: number;
  /** Each kill round: epoch ms when it was sent and when every node had answered it. */
  killTimes: [sent: number, done: number][];
  /** Steps that failed (an admin command that did not answer in time): the harness's own trouble. */
  errors: string[];
}

/** A running rotation. */
export interface CredentialRotation {
  /** The password handed out last. */
  current(): string;
  /** Stops both loops, waits for the step in flight, returns the figures. */
  stop(): Promise<RotationFigures>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Applies ACL rules to `username` on every node. */
function setUser(nodes: number[], username: string, ...rules: string[]): Promise<unknown[]> {
  return Promise.all(
    nodes.map((port) => withAdmin(port, (c) => c.call('ACL', 'SETUSER', username, ...rules))),
  );
}

/** Creates (or resets the password of) an ACL user with every permission on every node. */
export async function createAclUser(
  nodes: number[],
  username: string,
  password: string,
): Promise<void> {
  await setUser(nodes, username, 'on', 'resetpass', `>${password}`, '~*', '&*', '+@all');
}

/**
 * Takes every key and channel away from the `default` user on every node (it keeps its commands:
 * the test kit administers with it). A connection that did not authenticate through the
 * credentials provider then fails (`NOPERM`) instead of working as the default user.
 */
export async function denyDefaultUserData(nodes: number[]): Promise<void> {
  await setUser(nodes, 'default', 'resetkeys', 'resetchannels');
}

/**
 * Starts rotating the user's password every `rotateEveryMs` and killing its connections every
 * `killEveryMs`. The first step sets the user up with `password` (only) on every node, with all
 * keys, channels and commands.
 */
export async function startCredentialRotation(
  options: CredentialRotationOptions,
): Promise<CredentialRotation> {
  const { username, nodes, publish } = options;
  const rotateEveryMs = options.rotateEveryMs ?? 200;
  const killEveryMs = options.killEveryMs ?? 300;
  const figures: RotationFigures = {
    rotations: 0,
    killRounds: 0,
    killed: 0,
    killTimes: [],
    errors: [],
  };
  const passwords = [options.password];
  await createAclUser(nodes(), username, options.password);
  await publish?.(options.password);

  let running = true;
  const note = (error: unknown): void => {
    if (figures.errors.length < 10) figures.errors.push(String((error as Error)?.message ?? error));
  };
  const rotator = (async () => {
    while (running) {
      await sleep(rotateEveryMs);
      if (!running) break;
      try {
        const next = `pw-${passwords.length}-${randomBytes(6).toString('hex')}`;
        await setUser(nodes(), username, `>${next}`);
        passwords.push(next);
        await publish?.(next);
        // Two passwords stay valid: the new one and the previous one (until the next rotation).
        const old = passwords.at(-3);
        if (old !== undefined) await setUser(nodes(), username, `<${old}`);
        figures.rotations += 1;
      } catch (error) {
        note(error);
      }
    }
  })();
  const killer = (async () => {
    while (running && killEveryMs > 0) {
      await sleep(killEveryMs);
      if (!running) break;
      const sent = Date.now();
      figures.killRounds += 1;
      const counts = await Promise.all(
        nodes().map((port) =>
          withAdmin(
            port,
            (c) => c.call('CLIENT', 'KILL', 'USER', username) as Promise<number>,
          ).catch((error: unknown) => {
            note(error);
            return 0;
          }),
        ),
      );
      figures.killTimes.push([sent, Date.now()]);
      for (const n of counts) figures.killed += n;
    }
  })();
  return {
    current: () => passwords.at(-1)!,
    async stop() {
      running = false;
      await Promise.all([rotator, killer]);
      return figures;
    },
  };
}
