-- No statement timeout for the archive's reading session: the pool's 60 s suit the
-- services, while a fingerprint scans a whole month of the hot tier.
SET statement_timeout = 0
