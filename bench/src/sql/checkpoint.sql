-- Flushes dirty pages, so a COPY does not pay for the previous one's (needs pg_checkpoint).
CHECKPOINT
