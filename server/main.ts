import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { buildPlatform } from './platform.ts';
import type { Progress } from './progress.ts';

/**
 * `kubedojo serve`: the platform (platform.ts, the one composition root the tests use too),
 * started and listening, with what only an operator's terminal needs: the first admin's setup
 * link and a clean shutdown on SIGINT or SIGTERM.
 */
export async function runServer(config: Config, logger: Logger, progress: Progress): Promise<{ url: string; close(): Promise<void> }> {
  const log = logger.child({ component: 'main' });
  const platform = await buildPlatform(config, { logger, progress });
  const url = await platform.start();
  log.info({ url }, `kubedojo is serving on ${url}`);
  const { learners } = platform.services;
  if (!(await learners.hasAdmin())) {
    const token = await learners.issueSetupToken();
    const setupUrl = `${config.publicUrl ?? url}/setup?token=${token}`;
    log.warn({ setupUrl }, `there is no admin yet: open ${setupUrl} to create one (the link works once), or run "kubedojo admin create"`);
  }

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
