-- AlterTable
ALTER TABLE "Notification" ADD COLUMN     "includeCustomers" BOOLEAN NOT NULL DEFAULT false;
