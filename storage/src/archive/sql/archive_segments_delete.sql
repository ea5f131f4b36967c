-- $1 relation, $2 type, $3 month: the partition's time ranges, before they are recorded anew.
DELETE FROM archive_segments WHERE relation = $1 AND sample_type = $2 AND month = $3
