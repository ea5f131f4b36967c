-- $1 relation, $2 type, $3 month: forget the partition (its files, users and ranges go with
-- it).
DELETE FROM archive_months WHERE relation = $1 AND sample_type = $2 AND month = $3
