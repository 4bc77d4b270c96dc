import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { buildPlatform } from './platform.ts';
import type { Progress } from './progress.ts';

/**
 * `kubedojo serve`: the platform (platform.ts, the one composition root the tests use too),
 * started and listening, with what only an operator's terminal needs: a clean shutdown on
 * SIGINT or SIGTERM. The first admin's setup link is the leader's (platform.ts), once per cluster.
 */
export async function runServer(config: Config, logger: Logger, progress: Progress): Promise<{ url: string; close(): Promise<void> }> {
  const log = logger.child({ component: 'main' });
  const platform = await buildPlatform(config, { logger, progress });
  // The platform logs where it serves and, while there is no admin, the leader's setup link.
  const url = await platform.start();

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      log.info('shutting down');
      await platform.close();
      if (config.cluster.mode === 'embedded') log.info('the local cluster keeps running; stop it with "kubedojo cluster down"');
    })());
  const onSignal = () => {
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { url, close };
}
