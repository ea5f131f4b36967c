-- $1 schema: see migration 0016.
SELECT healthpipe_replay_drop($1)
