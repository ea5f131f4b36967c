-- $1 schema, $2 tables: see migration 0016.
SELECT healthpipe_replay_prepare($1, $2)
