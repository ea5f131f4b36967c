ANALYZE samples
