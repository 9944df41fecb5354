import type { Config } from '../config';
import type { Db } from '../db/types';
import type { EventStreams } from '../events/streams';
import type { UnitOfWork } from '../events/unit-of-work';
import type { Logger } from '../observability/logger';

/** What every domain service is constructed with. Services never see GraphQL. */
export interface ServiceDeps {
  db: Db;
  uow: UnitOfWork;
  streams: EventStreams;
  config: Config;
  logger: Logger;
}
