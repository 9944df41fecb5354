import type { Config } from '../config';
import type { Db } from '../db/types';
import type { ReadyEventStreams } from '../events/event-streams';
import type { Publisher } from '../events/publisher';
import type { Logger } from '../observability/logger';

/** What every domain service is constructed with. Services never see GraphQL. */
export interface ServiceDeps {
  db: Db;
  /**
   * The one way out (src/events/publisher.ts): `run(work)` with its `emit` for changes subscribers follow
   * (durable: the outbox), `broadcast` for messages a later one repairs (ephemeral: dashboard, presence).
   */
  publisher: Publisher;
  streams: ReadyEventStreams;
  config: Config;
  logger: Logger;
}
