import type { Config } from '../config';
import type { Db } from '../db/types';
import type { PubSub } from '../events/pubsub';
import type { EventStreams } from '../events/streams';
import type { UnitOfWork } from '../events/unit-of-work';
import type { Logger } from '../observability/logger';

/** What every domain service is constructed with. Services never see GraphQL. */
export interface ServiceDeps {
  db: Db;
  uow: UnitOfWork;
  streams: EventStreams;
  /** For ephemeral messages that need no outbox (dashboard pushes). */
  pubsub: PubSub;
  config: Config;
  logger: Logger;
}
