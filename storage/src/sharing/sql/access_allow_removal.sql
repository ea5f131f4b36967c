-- This transaction removes access records (erasure or retention): the append-only trigger
-- lets it.
SET LOCAL healthpipe.removing_access_records = 'on'
