import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, withDotEnv } from './config/config';
import { releaseEmbeddedPostgresSignalHooks, StartupError } from './database/embedded-postgres';
import { causeOf, RunningServer, startServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(withDotEnv(process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Tessera cannot start. ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  const logger = new Logger('Tessera');
  const server: RunningServer = await startServer(config, logger);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received: stopping`);
    try {
      await server.stop();
      process.exit(0);
    } catch (error) {
      logger.error('Error while stopping', error instanceof Error ? error.stack : String(error));
      process.exit(1);
    }
  };
  // Tessera's own shutdown stops the embedded PostgreSQL last, after the app has closed.
  releaseEmbeddedPostgresSignalHooks();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => void shutdown(signal));
}

main().catch((error: unknown) => {
  // A step that knows what went wrong says so in one line; anything else also gets its stack.
  const detail = error instanceof Error && !(error instanceof StartupError) && error.stack ? `\n${error.stack}` : '';
  process.stderr.write(`Tessera failed to start: ${causeOf(error)}${detail}\n`);
  process.exit(1);
});
