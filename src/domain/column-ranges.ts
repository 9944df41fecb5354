/**
 * What the columns hold: PostgreSQL `integer` (Prisma `Int`) for quantities, stock, prices, amounts and order
 * numbers. A value past it fails in the database; the domain refuses it first, with a clear message.
 */
export const INT_COLUMN_MAX = 2_147_483_647;
