-- The zone the processor buckets the user's aggregates in (see the view).
SELECT timezone FROM bucket_zones WHERE user_id = $1
