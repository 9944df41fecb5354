import type { Config } from '../config';
import type { Db } from '../db/types';
import type { ReadyEventStreams } from '../events/event-streams';
import type { PubSub } from '../events/pubsub';
import type { UnitOfWork } from '../events/unit-of-work';
import type { Logger } from '../observability/logger';

/** What every domain service is constructed with. Services never see GraphQL. */
export interface ServiceDeps {
  db: Db;
  uow: UnitOfWork;
  streams: ReadyEventStreams;
  /** For ephemeral messages that need no outbox (dashboard pushes). */
  pubsub: PubSub;
  config: Config;
  logger: Logger;
}
