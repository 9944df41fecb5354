-- CreateEnum
CREATE TYPE "TableStatus" AS ENUM ('FREE', 'RESERVED', 'SEATED', 'ORDERED', 'SERVED', 'PAYING', 'NEEDS_CLEANING');

-- AlterTable
ALTER TABLE "Order" ADD COLUMN     "seatingId" TEXT,
ADD COLUMN     "tableId" TEXT;

-- AlterTable
ALTER TABLE "Product" ADD COLUMN     "available" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "category" TEXT,
ADD COLUMN     "description" TEXT,
ADD COLUMN     "soldOut" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "unavailableReason" TEXT,
ADD COLUMN     "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "DiningTable" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "storeId" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "seats" INTEGER NOT NULL,
    "status" "TableStatus" NOT NULL DEFAULT 'FREE',
    "partySize" INTEGER,
    "seatedAt" TIMESTAMP(3),
    "seatingId" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DiningTable_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "DiningTable_tenantId_storeId_idx" ON "DiningTable"("tenantId", "storeId");

-- CreateIndex
CREATE UNIQUE INDEX "DiningTable_storeId_number_key" ON "DiningTable"("storeId", "number");

-- CreateIndex
CREATE INDEX "Order_tableId_seatingId_idx" ON "Order"("tableId", "seatingId");

-- AddForeignKey
ALTER TABLE "Order" ADD CONSTRAINT "Order_tableId_fkey" FOREIGN KEY ("tableId") REFERENCES "DiningTable"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DiningTable" ADD CONSTRAINT "DiningTable_storeId_fkey" FOREIGN KEY ("storeId") REFERENCES "Store"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Data: products whose tracked stock is already exhausted start out sold out (availability now follows stock).
UPDATE "Product" p
SET "available" = false, "soldOut" = true, "unavailableReason" = 'Sold out'
FROM "InventoryItem" i
WHERE i."productId" = p."id" AND i."quantity" <= 0;
