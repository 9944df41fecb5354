import { ConfigError, loadConfig } from './config';
import { createLogger } from './observability/logger';
import { demoSignInRefusal } from './server/demo-sign-in';
import { createServer } from './server/server';

/** `npm start`: configuration from the environment, embedded PGlite and in-process pub/sub by default. */
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const server = await createServer(config, { logger });
  if (config.graphiql) {
    const mode = config.databaseUrl ? 'PostgreSQL' : `embedded PGlite in ${config.dataDir}/`;
    console.log(
      [
        '',
        `  Expediter is running (${mode}, ${config.redisUrl ? 'Redis pub/sub' : 'in-process pub/sub'})`,
        `  GraphiQL:   ${server.url}/graphql`,
        `  WebSocket:  ${server.wsUrl}`,
        `  Live demo:  ${server.url}/demo`,
        `  Health:     ${server.url}/health  ${server.url}/ready  ${server.url}/metrics`,
        demoSignInRefusal(config)
          ? '  Token:      npm run -s token -- acme-manager   (then header  Authorization: Bearer <token>)'
          : '  Sign in:    GraphiQL offers the demo users (development only), or npm run -s token -- acme-manager',
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      // ops: a second signal (Ctrl-C twice) does not wait for the graceful drain
      logger.warn({ signal }, 'second signal during shutdown, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown timed out, exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    deadline.unref();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  console.error('Expediter failed to start:', error);
  process.exit(1);
});
