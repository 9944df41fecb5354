-- CreateTable
CREATE TABLE "EventPruneMark" (
    "topic" TEXT NOT NULL,
    "prunedThroughId" BIGINT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "EventPruneMark_pkey" PRIMARY KEY ("topic")
);
