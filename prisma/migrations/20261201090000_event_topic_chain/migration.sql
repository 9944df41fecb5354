-- Every event records the id of the previous event on its topic, so a receiver that knows how far it got on a
-- topic tells a gap from the next event without reading the table.
ALTER TABLE "Event" ADD COLUMN "prevId" BIGINT;

-- The newest event id of each topic, for the next writer of the topic. Written in the same statement as the
-- events (ON CONFLICT DO UPDATE sees the latest committed head even when the statement's snapshot does not);
-- "replacedId" is the head the latest write replaced, which is how that statement reads the previous value.
CREATE TABLE "EventTopicHead" (
    "topic" TEXT NOT NULL,
    "lastId" BIGINT NOT NULL,
    "replacedId" BIGINT,

    CONSTRAINT "EventTopicHead_pkey" PRIMARY KEY ("topic")
);

-- Topics that already have events continue their chain from the newest one.
INSERT INTO "EventTopicHead" ("topic", "lastId")
SELECT "topic", max("id") FROM "Event" GROUP BY "topic";
