import type { PrismaClient } from '../generated/prisma/client';

export type Db = PrismaClient;
/** The client handed to a callback of db.$transaction(async (tx) => ...). */
export type Tx = Omit<PrismaClient, '$connect' | '$disconnect' | '$on' | '$transaction' | '$extends'>;
