-- $1 schema, $2 raw-sample horizon: see migration 0016.
SELECT healthpipe_replay_copy_frozen($1, $2)
