import { buildApp } from './app';
import { loadDemoEnv } from './env';

// Entry point of `pnpm start`: read the environment, build the app, listen, stop cleanly.
async function main(): Promise<void> {
  const { port, host, options } = loadDemoEnv();
  const demo = await buildApp(options);
  const log = demo.app.log;
  await demo.app.listen({ port, host });

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A hung close must not keep the process alive forever.
    const force = setTimeout(() => {
      log.error({}, 'shutdown took longer than 10 s: exiting');
      process.exit(1);
    }, 10_000);
    force.unref();
    demo.close().then(
      () => {
        log.info({}, 'stopped');
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while shutting down');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  // A bad configuration (ConfigError lists every problem, secrets redacted) or a busy port.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
